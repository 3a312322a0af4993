import DeviceGateKit

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The ``Approver`` in Telegram: each held request becomes one message per configured chat
/// with three buttons, and a press comes back as a callback that is checked before it decides
/// anything.
///
/// A press counts only if it comes from a configured chat, from a person allowed there (when
/// `allowed_user_ids` is set), and carries a ticket this devicegate signed for that chat,
/// naming a request that still waits. Anything else changes nothing, is answered with the
/// reason, and is logged and audited with who pressed. Every callback is answered, so no
/// client is left with a spinner.
public actor TelegramApprover: Approver {
    private let api: BotAPI
    private let chats: [Int64]
    private let allowedUsers: Set<Int64>
    private let signer: ApprovalTicket.Signer
    private let held: HeldRequests
    private let audit: AuditLog?
    private let time: any TimeSource
    private let log: @Sendable (String) -> Void
    private var shown: [HeldRequestID: [(chat: Int64, messageID: Int, html: String)]] = [:]

    /// - Parameters:
    ///   - chatIDs: where requests are shown and may be decided (the bot's command chats).
    ///   - allowedUserIDs: when not empty, only these people may decide.
    ///   - held: the registry the desk waits on; a valid press decides through it.
    public init(
        api: BotAPI, chatIDs: [Int64], allowedUserIDs: [Int64], signer: ApprovalTicket.Signer, held: HeldRequests, audit: AuditLog?,
        time: any TimeSource, log: @escaping @Sendable (String) -> Void = StandardError.write
    ) {
        self.api = api
        self.chats = chatIDs
        self.allowedUsers = Set(allowedUserIDs)
        self.signer = signer
        self.held = held
        self.audit = audit
        self.time = time
        self.log = log
    }

    // MARK: Approver

    public func present(_ request: ApprovalRequest) async throws {
        let html = ApprovalMessages.text(request, now: time.now())
        var sent: [(chat: Int64, messageID: Int, html: String)] = []
        var lastError: (any Error)?
        for chat in chats {
            do {
                let message = try await api.sendMessage(
                    chatID: chat, html: html, keyboard: ApprovalMessages.keyboard(request, signer: signer, chat: chat))
                sent.append((chat, message.messageID, html))
            } catch {
                log("devicegate: could not show approval \(request.id) in chat \(chat): \(error)")
                lastError = error
            }
        }
        guard !sent.isEmpty else { throw lastError ?? ApprovalUnavailable() }
        shown[request.id] = sent
    }

    public func conclude(_ request: ApprovalRequest, _ verdict: ApprovalVerdict, result: String?) async {
        guard let messages = shown.removeValue(forKey: request.id) else { return }
        let ending = ApprovalMessages.ending(request, verdict, result: result)
        for message in messages {
            do {
                try await api.editMessageText(chatID: message.chat, messageID: message.messageID, html: message.html + "\n\n" + ending)
            } catch {
                log("devicegate: could not update approval \(request.id) in chat \(message.chat): \(error)")
            }
        }
    }

    struct ApprovalUnavailable: Error, CustomStringConvertible {
        var description: String { "no chat is configured to show it in" }
    }

    // MARK: Presses

    /// Checks a press and decides through ``HeldRequests`` if it is valid; answers it either way.
    public func handle(_ query: CallbackQuery) async {
        let outcome = await judge(query)
        if case .refused(let reason, let fields) = outcome {
            let chat = query.message.map { "chat \($0.chat.id)" } ?? "an unknown chat"
            log("devicegate: refused a button press by user \(query.from.id) in \(chat): \(reason)")
            var record = fields
            record["reason"] = .string(reason)
            record["telegram_user"] = .int(Int(query.from.id))
            record["telegram_name"] = .string(query.from.displayName)
            if let message = query.message { record["chat"] = .int(Int(message.chat.id)) }
            await audit?.recordOrWarn("approval_press_refused", record)
        }
        do {
            try await api.answerCallbackQuery(id: query.id, text: outcome.answer)
        } catch {
            log("devicegate: could not answer a button press: \(error)")
        }
    }

    enum Outcome {
        case decided(String)
        case refused(String, [String: AuditValue])

        var answer: String {
            switch self {
            case .decided(let text): text
            case .refused(let reason, _): "Nothing changed: \(reason)."
            }
        }
    }

    func judge(_ query: CallbackQuery) async -> Outcome {
        guard let message = query.message, chats.contains(message.chat.id) else {
            return .refused("this chat may not decide", [:])
        }
        if query.from.isBot == true { return .refused("bots may not decide", [:]) }
        if !allowedUsers.isEmpty, !allowedUsers.contains(query.from.id) {
            return .refused("you are not allowed to decide here", [:])
        }
        guard let data = query.data, let ticket = signer.decode(data, from: String(message.chat.id)) else {
            return .refused("this button is not one of mine (forged or altered)", [:])
        }
        let fields: [String: AuditValue] = ["approval_id": .string(ticket.id.text)]
        guard let answer = ApprovalAnswer(rawValue: String(ticket.action)) else {
            return .refused("this button does nothing", fields)
        }
        let person = ApprovalPerson(id: String(query.from.id), name: query.from.displayName)
        guard let request = await held.decide(ticket.id, answer, by: person) else {
            return .refused("this request was already decided or has expired", fields)
        }
        if case .breakerLock = request.subject { return .decided(answer == .deny ? "Kept locked." : "Unlocked.") }
        switch answer {
        case .approveOnce: return .decided("Approved once.")
        case .approveForWindow: return .decided("Approved for 15 minutes.")
        case .deny: return .decided("Denied.")
        }
    }
}
