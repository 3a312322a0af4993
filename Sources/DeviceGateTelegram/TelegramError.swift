import DeviceGateKit

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A Bot API call that failed, said plainly and naming only the method.
///
/// The bot token is part of every request URL (`/bot<token>/METHOD`), so this error never
/// holds a URL, a request or a response body: only the method, Telegram's own `description`
/// (scrubbed of the token all the same) and what to do about it.
public struct TelegramError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// 401: the token is wrong or was revoked. Retrying cannot help.
        case unauthorized
        /// 409: another program polls this bot, or a webhook is set.
        case conflict
        /// 429: flood control; wait `retryAfter` seconds.
        case rateLimited(retryAfter: Int)
        /// Any other 4xx: Telegram refused this request (chat not found, bad markup, …).
        case rejected
        /// 5xx or an answer that is not the Bot API's envelope.
        case serverError
        /// No HTTP answer at all.
        case network
    }

    public let method: String
    public let kind: Kind
    /// The HTTP status or `error_code`, when there was an answer.
    public let code: Int?
    /// Telegram's `description`, or what went wrong on the way; never a URL.
    public let detail: String
    /// What holds the token (`TELEGRAM_BOT_TOKEN`, a file), for the 401 advice.
    public let tokenSource: String
    /// Set when a group became a supergroup and has a new id.
    public let migratedToChatID: Int64?

    public init(
        method: String, kind: Kind, code: Int? = nil, detail: String, tokenSource: String = TelegramSettings.tokenVariable,
        migratedToChatID: Int64? = nil
    ) {
        self.method = method
        self.kind = kind
        self.code = code
        self.detail = detail
        self.tokenSource = tokenSource
        self.migratedToChatID = migratedToChatID
    }

    /// Worth trying again after a pause: flood control, outages and network trouble.
    public var isTransient: Bool {
        switch kind {
        case .rateLimited, .serverError, .network: true
        case .unauthorized, .conflict, .rejected: false
        }
    }

    /// `editMessageText` with the text the message already has: the edit is already done.
    public var isNotModified: Bool {
        kind == .rejected && detail.lowercased().contains("message is not modified")
    }

    /// A 409 caused by a webhook rather than a second poller.
    public var isWebhookConflict: Bool { kind == .conflict && detail.lowercased().contains("webhook") }

    public var description: String {
        switch kind {
        case .unauthorized:
            return
                "Telegram refused the bot token (401 Unauthorized, in \(method)): check \(tokenSource); it must hold the whole token @BotFather gave you, like 123456789:AAE…"
        case .conflict where isWebhookConflict:
            return
                "Telegram will not hand out updates (409 Conflict, in \(method)): a webhook is set for this bot. Remove it (the Bot API's deleteWebhook) or give devicegate a bot of its own. Telegram said: \(detail)"
        case .conflict:
            return
                "another program is reading this bot's updates (409 Conflict, in \(method)): only one poller per bot token can run. Stop the other poller (a second `devicegate bot`, a `devicegate bot` beside `devicegate serve`, which runs the bot itself, an OpenClaw gateway or a script), or give devicegate a bot of its own. Telegram said: \(detail)"
        case .rateLimited(let seconds):
            return "Telegram's flood control asks to wait \(seconds) s (429, in \(method))"
        case .rejected:
            var text = "Telegram refused \(method)" + (code.map { " (HTTP \($0))" } ?? "") + ": \(detail)"
            if let migratedToChatID {
                text += "; the group became a supergroup with the new id \(migratedToChatID): put that in \(TelegramSettings.chatVariable)"
            }
            return text
        case .serverError:
            return "Telegram had trouble with \(method)" + (code.map { " (HTTP \($0))" } ?? "") + ": \(detail)"
        case .network:
            return "could not reach Telegram for \(method): \(detail)"
        }
    }
}
