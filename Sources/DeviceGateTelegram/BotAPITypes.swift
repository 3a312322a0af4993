import Foundation

// The few Bot API objects devicegate reads and writes, with Telegram's field names. IDs are
// Int64: chat ids need up to 52 bits, and group ids are negative.

/// A Telegram user or bot (`getMe`, `Message.from`).
public struct TelegramUser: Decodable, Sendable, Equatable {
    public var id: Int64
    public var isBot: Bool?
    public var firstName: String?
    /// Without the `@`; bots always have one, and `/cmd@username` must match it.
    public var username: String?

    enum CodingKeys: String, CodingKey {
        case id
        case isBot = "is_bot"
        case firstName = "first_name"
        case username
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

/// One update from `getUpdates`. Only `message` is acted on: edits, channel posts and
/// callbacks are acknowledged and ignored.
public struct TelegramUpdate: Decodable, Sendable, Equatable {
    public var updateID: Int
    public var message: TelegramMessage?

    enum CodingKeys: String, CodingKey {
        case updateID = "update_id"
        case message
    }
}

/// An inline keyboard; devicegate uses URL buttons only, which need no callback handling.
public struct InlineKeyboard: Encodable, Sendable, Equatable {
    public struct Button: Encodable, Sendable, Equatable {
        public var text: String
        public var url: String
        public init(text: String, url: String) {
            self.text = text
            self.url = url
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
    var allowedUpdates = ["message"]

    enum CodingKeys: String, CodingKey {
        case offset, timeout
        case allowedUpdates = "allowed_updates"
    }
}

struct NoParameters: Encodable {}
