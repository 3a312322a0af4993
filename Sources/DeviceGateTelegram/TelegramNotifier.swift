import DeviceGateKit

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Sends the sign-in to one or more Telegram chats: the code message with a URL button, then,
/// when the sign-in ends, edits that message so no stale code lingers and sends a short
/// confirmation.
///
/// One notifier serves one sign-in (it remembers which messages it sent). Warnings (slow_down,
/// network trouble) stay out of the chat: the person can do nothing about them.
public actor TelegramNotifier: SignInNotifier {
    public nonisolated let name = "telegram"
    private let api: BotAPI
    private let chatIDs: [Int64]
    private let time: any TimeSource
    private var codeMessages: [(chatID: Int64, messageID: Int)] = []
    /// Whether an ending (signed in, already, declined, expired, failed) has been told.
    public private(set) var toldEnding = false

    public init(api: BotAPI, chatIDs: [Int64], time: any TimeSource) {
        self.api = api
        self.chatIDs = chatIDs
        self.time = time
    }

    public func notify(_ event: SignInEvent) async throws {
        switch event {
        case .codeIssued(let code):
            // Shielded from cancellation like the ending below: a code message whose id was
            // lost to a Ctrl-C mid-send could not be edited, and its code would linger.
            try await Task { try await self.sendCode(code) }.value
        case .warning:
            return
        default:
            toldEnding = true
            // The ending must reach the chat even when the sign-in was cancelled (Ctrl-C,
            // SIGTERM): a fresh task does not inherit the cancellation, and the API's retries
            // are bounded.
            let messages = codeMessages
            codeMessages = []
            let (api, chatIDs) = (self.api, self.chatIDs)
            try await Task { try await Self.finish(event, messages: messages, chatIDs: chatIDs, api: api) }.value
        }
    }

    private func sendCode(_ code: SignInEvent.CodeIssued) async throws {
        let text = SignInMessages.code(code, now: time.now())
        var failures: [any Error] = []
        for chatID in chatIDs {
            do {
                let message = try await Self.sendWithButton(api, chatID: chatID, html: text, keyboard: SignInMessages.keyboard(code))
                codeMessages.append((chatID, message.messageID))
            } catch {
                failures.append(error)
            }
        }
        if let first = failures.first, failures.count == chatIDs.count { throw first }
        if !failures.isEmpty { throw TelegramNotifierError(failures) }
    }

    /// Telegram refuses some button URLs (`localhost`, bare IPs); the code must get through
    /// anyway, so such a refusal is retried without the button (the link is in the text).
    static func sendWithButton(_ api: BotAPI, chatID: Int64, html: String, keyboard: InlineKeyboard) async throws -> TelegramMessage {
        do {
            return try await api.sendMessage(chatID: chatID, html: html, keyboard: keyboard)
        } catch let error as TelegramError where error.kind == .rejected && error.detail.lowercased().contains("button") {
            return try await api.sendMessage(chatID: chatID, html: html)
        }
    }

    static func finish(_ event: SignInEvent, messages: [(chatID: Int64, messageID: Int)], chatIDs: [Int64], api: BotAPI) async throws {
        var failures: [any Error] = []
        if let edited = SignInMessages.codeMessageAfter(event) {
            for message in messages {
                do {
                    try await api.editMessageText(chatID: message.chatID, messageID: message.messageID, html: edited, keyboard: .empty)
                } catch {
                    failures.append(error)
                }
            }
        }
        if let confirmation = SignInMessages.confirmation(event) {
            for chatID in chatIDs {
                do { _ = try await api.sendMessage(chatID: chatID, html: confirmation) } catch { failures.append(error) }
            }
        }
        if failures.count == 1 { throw failures[0] }
        if !failures.isEmpty { throw TelegramNotifierError(failures) }
    }
}

/// Several Telegram calls failed (several chats, or the edit and the confirmation).
public struct TelegramNotifierError: Error, Sendable, CustomStringConvertible {
    public let failures: [String]
    init(_ errors: [any Error]) { failures = errors.map { String(describing: $0) } }
    public var description: String { failures.joined(separator: "; ") }
}
