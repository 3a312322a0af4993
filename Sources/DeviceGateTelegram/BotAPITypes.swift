#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

// The few Bot API objects devicegate reads and writes, with Telegram's field names. IDs are
// Int64: chat ids need up to 52 bits, and group ids are negative.

/// A Telegram user or bot (`getMe`, `Message.from`).
public struct TelegramUser: Decodable, Sendable, Equatable {
    public var id: Int64
    public var isBot: Bool?
    public var firstName: String?
    public var lastName: String?
    /// Without the `@`; bots always have one, and `/cmd@username` must match it.
    public var username: String?

    enum CodingKeys: String, CodingKey {
        case id
        case isBot = "is_bot"
        case firstName = "first_name"
        case lastName = "last_name"
        case username
    }

    /// How an audit record and a message name the person: first and last name, then @username.
    public var displayName: String {
        let name = [firstName, lastName].compactMap { $0 }.joined(separator: " ")
        switch (name.isEmpty, username) {
        case (false, let handle?): return "\(name) (@\(handle))"
        case (false, nil): return name
        case (true, let handle?): return "@\(handle)"
        case (true, nil): return "user \(id)"
        }
    }
}

/// The chat a message was sent in: the only thing the bot trusts to decide whom it serves.
public struct TelegramChat: Decodable, Sendable, Equatable {
    public var id: Int64
    /// `private`, `group`, `supergroup` or `channel`.
    public var type: String?
}

public struct TelegramMessage: Decodable, Sendable, Equatable {
    public var messageID: Int
    public var chat: TelegramChat
    public var from: TelegramUser?
    public var date: Int?
    public var text: String?

    enum CodingKeys: String, CodingKey {
        case messageID = "message_id"
        case chat, from, date, text
    }
}

/// One update from `getUpdates`. `message` and `callback_query` are acted on: edits, channel
/// posts and the rest are acknowledged and ignored.
public struct TelegramUpdate: Decodable, Sendable, Equatable {
    public var updateID: Int
    public var message: TelegramMessage?
    public var callbackQuery: CallbackQuery?

    enum CodingKeys: String, CodingKey {
        case updateID = "update_id"
        case message
        case callbackQuery = "callback_query"
    }
}

/// A press on an inline button. `from` is whoever pressed, which in a group can be any member;
/// `data` is whatever the client sent, and is checked before it means anything.
public struct CallbackQuery: Decodable, Sendable, Equatable {
    public var id: String
    public var from: TelegramUser
    /// The message with the button; absent when it is too old for Telegram to include.
    public var message: TelegramMessage?
    public var data: String?
}

/// An inline keyboard: URL buttons (the sign-in link) and callback buttons (approvals).
public struct InlineKeyboard: Encodable, Sendable, Equatable {
    public struct Button: Encodable, Sendable, Equatable {
        public var text: String
        public var url: String?
        /// 1–64 bytes, sent back in the `callback_query` when pressed.
        public var callbackData: String?

        public init(text: String, url: String) {
            self.text = text
            self.url = url
        }

        public init(text: String, callbackData: String) {
            self.text = text
            self.callbackData = callbackData
        }

        enum CodingKeys: String, CodingKey {
            case text, url
            case callbackData = "callback_data"
        }
    }

    public var rows: [[Button]]
    public init(_ rows: [[Button]]) { self.rows = rows }

    /// Sent with an edit to take the buttons away.
    public static let empty = InlineKeyboard([])

    enum CodingKeys: String, CodingKey { case rows = "inline_keyboard" }
}

/// Any `result`, for methods whose answer devicegate does not need (`editMessageText` answers a
/// Message or `true`).
struct IgnoredResult: Decodable, Sendable {
    init(from decoder: any Decoder) throws {}
}

/// The envelope every Bot API answer comes in.
struct Envelope<Result: Decodable>: Decodable {
    struct Parameters: Decodable {
        var retryAfter: Int?
        var migrateToChatID: Int64?
        enum CodingKeys: String, CodingKey {
            case retryAfter = "retry_after"
            case migrateToChatID = "migrate_to_chat_id"
        }
    }
    var ok: Bool
    var result: Result?
    var errorCode: Int?
    var description: String?
    var parameters: Parameters?

    enum CodingKeys: String, CodingKey {
        case ok, result, description, parameters
        case errorCode = "error_code"
    }
}

struct SendMessage: Encodable {
    struct LinkPreview: Encodable {
        var isDisabled = true
        enum CodingKeys: String, CodingKey { case isDisabled = "is_disabled" }
    }
    var chatID: Int64
    var text: String
    var parseMode = "HTML"
    var linkPreviewOptions = LinkPreview()
    var replyMarkup: InlineKeyboard?

    enum CodingKeys: String, CodingKey {
        case chatID = "chat_id"
        case text
        case parseMode = "parse_mode"
        case linkPreviewOptions = "link_preview_options"
        case replyMarkup = "reply_markup"
    }
}

struct EditMessageText: Encodable {
    var chatID: Int64
    var messageID: Int
    var text: String
    var parseMode = "HTML"
    var linkPreviewOptions = SendMessage.LinkPreview()
    var replyMarkup: InlineKeyboard?

    enum CodingKeys: String, CodingKey {
        case chatID = "chat_id"
        case messageID = "message_id"
        case text
        case parseMode = "parse_mode"
        case linkPreviewOptions = "link_preview_options"
        case replyMarkup = "reply_markup"
    }
}

struct GetUpdates: Encodable {
    var offset: Int?
    var timeout: Int
    /// Callbacks must be asked for by name once the list is set at all.
    var allowedUpdates = ["message", "callback_query"]

    enum CodingKeys: String, CodingKey {
        case offset, timeout
        case allowedUpdates = "allowed_updates"
    }
}

struct AnswerCallbackQuery: Encodable {
    var callbackQueryID: String
    var text: String?

    enum CodingKeys: String, CodingKey {
        case callbackQueryID = "callback_query_id"
        case text
    }
}

struct NoParameters: Encodable {}
