#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Settings of the channels that reach a person or a program: the top-level `[telegram]`,
/// `[webhook]` and `[command]` tables, plus the `TELEGRAM_*` variables.
///
/// They live outside the profiles because one chat, one webhook or one program serves every
/// profile; a profile only names which of them it uses (`notify = ["telegram"]`).
public struct NotifierSettings: Sendable {
    public var telegram = TelegramSettings()
    public var webhook: WebhookSettings?
    public var command: CommandSettings?

    public init(telegram: TelegramSettings = TelegramSettings(), webhook: WebhookSettings? = nil, command: CommandSettings? = nil) {
        self.telegram = telegram
        self.webhook = webhook
        self.command = command
    }

    static let tables = ["telegram", "webhook", "command"]
    static let telegramKeys = ["bot_token_env", "bot_token_file", "chat_ids", "allowed_user_ids", "allow_all_members", "api_base"]
    static let webhookKeys = ["url", "url_env", "secret_env", "secret_file"]
    static let commandKeys = ["program", "args", "timeout"]
}

/// Where the bot token comes from and which chats (and people) the bot serves.
///
/// The token defaults to `TELEGRAM_BOT_TOKEN` and the chats to `TELEGRAM_CHAT_ID`, the names the
/// seed's compose file uses, so a container needs no config table at all.
public struct TelegramSettings: Sendable {
    public static let defaultAPIBase = URL(string: "https://api.telegram.org")!
    public static let tokenVariable = "TELEGRAM_BOT_TOKEN"
    public static let chatVariable = "TELEGRAM_CHAT_ID"
    public static let apiBaseVariable = "TELEGRAM_API_BASE"

    public enum TokenSource: Sendable, Equatable, CustomStringConvertible {
        case environment(String)
        case file(String)

        /// What to fix when the token is missing or refused: a variable name or a file path.
        public var description: String {
            switch self {
            case .environment(let name): name
            case .file(let path): "the token file \(path)"
            }
        }
    }

    public var tokenSource: TokenSource = .environment(tokenVariable)
    /// The token as read from the environment when the config was loaded (nil when unset).
    var environmentToken: Secret?
    /// The chats the bot talks to and takes commands from. Empty means none.
    public var chatIDs: [Int64] = []
    /// When not empty, only these people may command the bot, even inside an allowed chat.
    public var allowedUserIDs: [Int64] = []
    /// `allow_all_members = true`: every member of a group chat may command the bot. Without it
    /// (or `allowed_user_ids`) the bot refuses to serve a group at all.
    public var allowAllMembers = false
    /// `https://api.telegram.org`, or a local Bot API server.
    public var apiBase: URL = defaultAPIBase

    public init(
        tokenSource: TokenSource = .environment(tokenVariable), token: Secret? = nil, chatIDs: [Int64] = [],
        allowedUserIDs: [Int64] = [], apiBase: URL = defaultAPIBase
    ) {
        self.tokenSource = tokenSource
        self.environmentToken = token
        self.chatIDs = chatIDs
        self.allowedUserIDs = allowedUserIDs
        self.apiBase = apiBase
    }

    /// Whether a bot token is configured at all (a variable set, or a file named), so that
    /// `devicegate serve` runs the bot itself: one poller per token.
    public var hasBotToken: Bool {
        switch tokenSource {
        case .file: true
        case .environment: !(environmentToken?.isEmpty ?? true)
        }
    }

    /// The bot token, or an error that names the variable or file to fix.
    public func botToken() throws -> Secret {
        switch tokenSource {
        case .environment(let name):
            guard let token = environmentToken, !token.isEmpty else {
                throw ConfigError(
                    file: nil,
                    "the Telegram bot token is not set: put the token @BotFather gave you in \(name) (or set [telegram] bot_token_file)")
            }
            return token
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ConfigError(file: nil, "cannot read the Telegram bot token file \(path)")
            }
            let value = String(decoding: data, as: UTF8.self).trimmingWhitespaceAndNewlines()
            guard !value.isEmpty else { throw ConfigError(file: nil, "the Telegram bot token file \(path) is empty") }
            return Secret(value)
        }
    }

    /// The chats, or an error saying how to name one: a bot without a chat would serve nobody
    /// (or, worse, anybody).
    public func requireChats() throws -> [Int64] {
        guard !chatIDs.isEmpty else {
            throw ConfigError(
                file: nil,
                "no Telegram chat is configured: set \(Self.chatVariable) to your chat id (or [telegram] chat_ids); the README's Telegram section shows how to find it"
            )
        }
        return chatIDs
    }

    /// The chats the bot may take commands from, or an error when one of them is a group
    /// (a negative id) and nothing says who in it may command the bot: any member, or anyone
    /// who is added later, could then run `/logout` or start a sign-in for a profile.
    public func requireCommandChats() throws -> [Int64] {
        let chats = try requireChats()
        let groups = chats.filter { $0 < 0 }
        guard groups.isEmpty || !allowedUserIDs.isEmpty || allowAllMembers else {
            throw ConfigError(
                file: nil,
                "the bot refuses to take commands in the group chat \(groups.map(String.init).joined(separator: ", ")) without [telegram] allowed_user_ids: every member of the group could sign out or start a sign-in. Set allowed_user_ids = [YOUR_USER_ID] (your numeric Telegram user id: getUpdates shows it as message.from.id), or, if everyone in the group may, allow_all_members = true"
            )
        }
        return chats
    }
}

/// `[webhook]`: POST each event as JSON, optionally signed with HMAC-SHA256.
public struct WebhookSettings: Sendable {
    /// The endpoint. Chat webhooks (Slack, Discord) carry their credential in the path, so the
    /// URL is a ``Secret`` and only its host is ever shown.
    public var url: Secret
    /// The variable the URL was read from (`url_env`), so that `exec` can keep it from its child.
    public var urlVariable: String?
    public var secret: SecretSource?

    public init(url: Secret, urlVariable: String? = nil, secret: SecretSource? = nil) {
        self.url = url
        self.urlVariable = urlVariable
        self.secret = secret
    }
}

/// `[command]`: run a program with each event as JSON on stdin.
public struct CommandSettings: Sendable {
    public var program: String
    public var arguments: [String]
    /// Seconds before the program is stopped: a hung hook must not hold up the sign-in.
    public var timeout: Int

    public init(program: String, arguments: [String] = [], timeout: Int = 30) {
        self.program = program
        self.arguments = arguments
        self.timeout = timeout
    }
}

extension NotifierSettings {
    /// Reads the three tables out of the parsed config and applies the `TELEGRAM_*` variables,
    /// which win over the file (as `DEVICEGATE__…` variables do for profiles).
    static func parse(_ table: TOMLTable, path: String?, environment: [String: String]) throws -> NotifierSettings {
        var settings = NotifierSettings()
        // The line of a section's header (or of `key` in it), for messages.
        func line(_ section: String, _ key: String? = nil) -> Int? {
            guard let body = table[section]?.table else { return table.line(of: section) }
            return key.map { body.line(of: $0) ?? body.line } ?? body.line
        }
        func section(_ name: String, _ keys: [String]) throws -> TOMLTable? {
            guard let value = table[name] else { return nil }
            guard let body = value.table else {
                throw ConfigError(file: path, line: table.line(of: name), "`\(name)` must be a table: write [\(name)]")
            }
            for key in body.keys where !keys.contains(key) {
                if name == "telegram" && key == "bot_token" || name == "webhook" && key == "secret" {
                    throw ConfigError(
                        file: path, line: body.line(of: key),
                        "\(name).\(key): inline secrets are refused; use \(key)_env = \"VAR\" or \(key)_file = \"/path\"")
                }
                throw ConfigError(
                    file: path, line: body.line(of: key),
                    "\(name): unknown key `\(key)`" + ConfigLoader.suggestion(key, keys))
            }
            return body
        }
        func fail(_ table: String, _ key: String, _ message: String) -> ConfigError {
            ConfigError(file: path, line: line(table, key), "\(table).\(key) \(message)")
        }
        func string(_ body: TOMLTable, _ table: String, _ key: String) throws -> String? {
            guard let value = body[key] else { return nil }
            guard let s = value.string, !s.isEmpty else { throw fail(table, key, "must be a non-empty string") }
            return s
        }
        func ids(_ body: TOMLTable, _ table: String, _ key: String) throws -> [Int64]? {
            guard let value = body[key] else { return nil }
            guard let array = value.array else { throw fail(table, key, "must be a list of numeric ids, e.g. [123456789]") }
            return try array.map { item in
                if let n = item.int { return Int64(n) }
                if let s = item.string, let n = Int64(s.trimmingWhitespace()) { return n }
                throw fail(table, key, "must hold numeric ids (a group's id is negative, e.g. -1001234567890)")
            }
        }
        func timeout(_ body: TOMLTable, _ table: String, default value: Int) throws -> Int {
            guard let raw = body["timeout"] else { return value }
            guard let n = raw.int, n > 0 else { throw fail(table, "timeout", "must be a whole number of seconds above 0") }
            return n
        }

        var telegram = TelegramSettings()
        if let body = try section("telegram", telegramKeys) {
            switch (try string(body, "telegram", "bot_token_env"), try string(body, "telegram", "bot_token_file")) {
            case (let name?, nil): telegram.tokenSource = .environment(name)
            case (nil, let file?): telegram.tokenSource = .file(file)
            case (nil, nil): break
            default:
                throw ConfigError(
                    file: path, line: line("telegram"), "telegram: set bot_token_env or bot_token_file, not both")
            }
            telegram.chatIDs = try ids(body, "telegram", "chat_ids") ?? []
            telegram.allowedUserIDs = try ids(body, "telegram", "allowed_user_ids") ?? []
            if let value = body["allow_all_members"] {
                guard let flag = value.bool else {
                    throw fail("telegram", "allow_all_members", "must be true or false")
                }
                telegram.allowAllMembers = flag
            }
            if let base = try string(body, "telegram", "api_base") {
                guard let url = Self.baseURL(base) else { throw fail("telegram", "api_base", "is not an http(s) URL: \(base)") }
                telegram.apiBase = url
            }
        }
        if case .environment(let name) = telegram.tokenSource, let value = environment[name], !value.isEmpty {
            telegram.environmentToken = Secret(value.trimmingWhitespaceAndNewlines())
        }
        if let value = environment[TelegramSettings.chatVariable], !value.trimmingWhitespace().isEmpty {
            let parts = value.split(whereSeparator: { $0 == "," || $0 == " " })
            telegram.chatIDs = try parts.map { part in
                guard let id = Int64(part) else {
                    throw ConfigError(
                        file: nil,
                        "\(TelegramSettings.chatVariable) must be numeric chat ids separated by commas (e.g. 123456789 or -1001234567890), not \"\(part)\""
                    )
                }
                return id
            }
        }
        if let value = environment[TelegramSettings.apiBaseVariable], !value.isEmpty {
            guard let url = Self.baseURL(value) else {
                throw ConfigError(file: nil, "\(TelegramSettings.apiBaseVariable) is not an http(s) URL: \(value)")
            }
            telegram.apiBase = url
        }
        settings.telegram = telegram

        if let body = try section("webhook", webhookKeys) {
            let url: Secret
            let urlVariable = try string(body, "webhook", "url_env")
            switch (try string(body, "webhook", "url"), urlVariable) {
            case (let value?, nil): url = Secret(value)
            case (nil, let name?):
                guard let value = environment[name], !value.isEmpty else {
                    throw fail("webhook", "url_env", "names \(name), which is not set")
                }
                url = Secret(value)
            case (nil, nil): throw ConfigError(file: path, line: line("webhook"), "webhook needs `url` (or `url_env`)")
            default: throw ConfigError(file: path, line: line("webhook"), "webhook: set url or url_env, not both")
            }
            guard let parsed = URL(string: url.reveal()), ["http", "https"].contains(parsed.scheme?.lowercased() ?? ""), parsed.host != nil
            else {
                throw ConfigError(file: path, line: line("webhook"), "webhook: the url is not an http(s) URL")
            }
            var secret: SecretSource?
            switch (try string(body, "webhook", "secret_env"), try string(body, "webhook", "secret_file")) {
            case (let name?, nil): secret = .environment(name)
            case (nil, let file?): secret = .file(file)
            case (nil, nil): secret = nil
            default:
                throw ConfigError(file: path, line: line("webhook"), "webhook: set secret_env or secret_file, not both")
            }
            settings.webhook = WebhookSettings(url: url, urlVariable: urlVariable, secret: secret)
        }

        if let body = try section("command", commandKeys) {
            guard let program = try string(body, "command", "program") else {
                throw ConfigError(
                    file: path, line: line("command"), "command needs `program` (the path of the program to run)")
            }
            var arguments: [String] = []
            if let value = body["args"] {
                guard let array = value.array, array.allSatisfy({ $0.string != nil }) else {
                    throw fail("command", "args", "must be a list of strings")
                }
                arguments = array.compactMap(\.string)
            }
            settings.command = CommandSettings(program: program, arguments: arguments, timeout: try timeout(body, "command", default: 30))
        }
        return settings
    }

    static func baseURL(_ text: String) -> URL? {
        let trimmed = text.hasSuffix("/") ? String(text.dropLast()) : text
        guard let url = URL(string: trimmed), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host != nil else {
            return nil
        }
        return url
    }
}
