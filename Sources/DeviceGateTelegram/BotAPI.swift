import DeviceGateKit

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A small Telegram Bot API client: the six methods devicegate needs, over the Kit's
/// ``HTTPTransport`` (so tests run it against a real loopback server), with Telegram's
/// envelope, flood control and outages handled in one place.
///
/// The token travels only inside request URLs built here; every failure becomes a
/// ``TelegramError`` that names the method, never the URL.
public struct BotAPI: Sendable {
    public let base: URL
    private let token: Secret
    /// What holds the token, for the 401 advice.
    public let tokenSource: String
    private let transport: any HTTPTransport
    /// For `getUpdates`: its HTTP deadline must outlast the long-poll timeout.
    private let pollTransport: any HTTPTransport
    private let time: any TimeSource
    public var retry: RetryPolicy

    /// How hard a call tries before giving up: Telegram asks for waits with `retry_after`,
    /// outages get exponential backoff. Bounded, because a sign-in is waiting on the answer.
    public struct RetryPolicy: Sendable {
        public var attempts: Int
        public var firstDelay: Double
        public var maximumDelay: Double
        /// The longest `retry_after` honoured inside one call; longer waits fail the call.
        public var maximumRetryAfter: Int

        public init(attempts: Int = 5, firstDelay: Double = 1, maximumDelay: Double = 30, maximumRetryAfter: Int = 60) {
            self.attempts = max(1, attempts)
            self.firstDelay = firstDelay
            self.maximumDelay = maximumDelay
            self.maximumRetryAfter = maximumRetryAfter
        }

        public static let once = RetryPolicy(attempts: 1)
    }

    public init(
        token: Secret, base: URL = TelegramSettings.defaultAPIBase, tokenSource: String = TelegramSettings.tokenVariable,
        transport: any HTTPTransport, pollTransport: (any HTTPTransport)? = nil, time: any TimeSource, retry: RetryPolicy = RetryPolicy()
    ) {
        self.base = base
        self.token = token
        self.tokenSource = tokenSource
        self.transport = transport
        self.pollTransport = pollTransport ?? transport
        self.time = time
        self.retry = retry
    }

    /// Built from the config: token, API base, and what to name when the token is refused.
    public init(settings: TelegramSettings, transport: any HTTPTransport, pollTransport: (any HTTPTransport)? = nil, time: any TimeSource)
        throws
    {
        self.init(
            token: try settings.botToken(), base: settings.apiBase, tokenSource: settings.tokenSource.description, transport: transport,
            pollTransport: pollTransport, time: time)
    }

    // MARK: Methods

    /// Checks the token and learns the bot's username (needed to read `/cmd@username`).
    public func getMe() async throws -> TelegramUser {
        try await call("getMe", NoParameters(), as: TelegramUser.self)
    }

    /// Sends an HTML message with link previews off, optionally with URL buttons.
    public func sendMessage(chatID: Int64, html: String, keyboard: InlineKeyboard? = nil) async throws -> TelegramMessage {
        try await call("sendMessage", SendMessage(chatID: chatID, text: html, replyMarkup: keyboard), as: TelegramMessage.self)
    }

    /// Replaces a message's text (and buttons: pass ``InlineKeyboard/empty`` to remove them).
    /// "message is not modified" means the message already reads so, and counts as success.
    public func editMessageText(chatID: Int64, messageID: Int, html: String, keyboard: InlineKeyboard? = .empty) async throws {
        do {
            _ = try await call(
                "editMessageText", EditMessageText(chatID: chatID, messageID: messageID, text: html, replyMarkup: keyboard),
                as: IgnoredResult.self)
        } catch let error as TelegramError where error.isNotModified {
            return
        }
    }

    /// Stops the spinner on the button the person pressed, with a short note (Telegram shows
    /// up to 200 characters). Every callback gets one, or the client keeps spinning.
    public func answerCallbackQuery(id: String, text: String?) async throws {
        _ = try await call(
            "answerCallbackQuery", AnswerCallbackQuery(callbackQueryID: id, text: text.map { String($0.prefix(200)) }),
            as: IgnoredResult.self)
    }

    /// One long poll: the updates from `offset` on, waiting up to `timeout` seconds for one.
    /// Tried once: the polling loop owns the backoff, and a 409 must reach it at once. Each
    /// update is decoded on its own (``UpdateBatch``): one that cannot be read is skipped, not
    /// allowed to make the whole answer unreadable.
    public func getUpdates(offset: Int?, timeout: Int) async throws -> UpdateBatch {
        try await attempt(
            "getUpdates", GetUpdates(offset: offset, timeout: timeout), as: UpdateBatch.self, transport: pollTransport)
    }

    // MARK: Calls

    /// A call with retries: waits `retry_after` on 429, backs off on outages and network
    /// errors, gives up at once on anything else.
    public func call<Parameters: Encodable, Result: Decodable & Sendable>(
        _ method: String, _ parameters: Parameters, as: Result.Type
    ) async throws -> Result {
        var delay = retry.firstDelay
        var attemptNumber = 1
        while true {
            do {
                return try await attempt(method, parameters, as: Result.self, transport: transport)
            } catch let error as TelegramError where error.isTransient && attemptNumber < retry.attempts {
                if case .rateLimited(let seconds) = error.kind {
                    guard seconds <= retry.maximumRetryAfter else { throw error }
                    try await time.sleep(seconds: Double(seconds))
                } else {
                    try await time.sleep(seconds: delay)
                    delay = min(delay * 2, retry.maximumDelay)
                }
                attemptNumber += 1
            }
        }
    }

    /// One request, one answer, decoded from the envelope whatever the HTTP status.
    func attempt<Parameters: Encodable, Result: Decodable & Sendable>(
        _ method: String, _ parameters: Parameters, as: Result.Type, transport: any HTTPTransport
    ) async throws -> Result {
        let body: Data
        do {
            body = try JSONEncoder().encode(parameters)
        } catch {
            throw TelegramError(method: method, kind: .rejected, detail: "could not encode the parameters", tokenSource: tokenSource)
        }
        let request = OutgoingRequest(
            method: "POST", url: url(method), headers: [("Content-Type", "application/json"), ("Accept", "application/json")],
            body: Secret(String(decoding: body, as: UTF8.self)))
        let response: IncomingResponse
        do {
            response = try await transport.send(request)
        } catch let error as TransportError {
            throw TelegramError(method: method, kind: .network, detail: scrub(error.description), tokenSource: tokenSource)
        }
        guard let envelope = try? JSONDecoder().decode(Envelope<Result>.self, from: response.body) else {
            throw unexpected(method, response)
        }
        if envelope.ok, let result = envelope.result { return result }
        if envelope.ok { throw unexpected(method, response) }
        let code = envelope.errorCode ?? response.status
        let detail = scrub(envelope.description ?? "no description")
        let kind: TelegramError.Kind =
            switch code {
            case 401: .unauthorized
            case 409: .conflict
            case 429: .rateLimited(retryAfter: envelope.parameters?.retryAfter ?? Self.retryAfter(in: detail) ?? 5)
            case 400..<500: .rejected
            default: .serverError
            }
        throw TelegramError(
            method: method, kind: kind, code: code, detail: detail, tokenSource: tokenSource,
            migratedToChatID: envelope.parameters?.migrateToChatID)
    }

    /// An answer without the Bot API's envelope: a proxy's error page, a wrong API base.
    private func unexpected(_ method: String, _ response: IncomingResponse) -> TelegramError {
        let kind: TelegramError.Kind =
            switch response.status {
            case 401: .unauthorized
            case 429: .rateLimited(retryAfter: 5)
            case 400..<500: .rejected
            default: .serverError
            }
        return TelegramError(
            method: method, kind: kind, code: response.status,
            detail: "the answer (\(response.shapeForDisplay)) is not the Bot API's; is the API base \(base.absoluteString) right?",
            tokenSource: tokenSource)
    }

    /// `base/bot<token>/METHOD`. Never printed: the token is in the path.
    private func url(_ method: String) -> URL {
        base.appendingPathComponent("bot" + token.reveal(), isDirectory: true).appendingPathComponent(method)
    }

    /// Belt and braces: no text from below may carry the token out.
    private func scrub(_ text: String) -> String {
        token.isEmpty ? text : text.replacing(token.reveal(), with: "<redacted>")
    }

    /// "Too Many Requests: retry after 35", for the answers seen without `parameters`.
    static func retryAfter(in description: String) -> Int? {
        let lower = description.lowercased()
        guard let range = lower.firstRange(of: "retry after ") else { return nil }
        return Int(lower[range.upperBound...].prefix { $0.isNumber })
    }
}
