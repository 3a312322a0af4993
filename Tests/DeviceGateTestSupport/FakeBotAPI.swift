import Foundation
import NIOConcurrencyHelpers

/// A Telegram Bot API double on loopback, faithful where devicegate's behaviour depends on it:
/// the `/bot<token>/METHOD` paths (a wrong token gets 401), the `{"ok":…}` envelope on every
/// answer, HTML parse mode checked as strictly as Telegram does (an unescaped `<` or `&` is a
/// 400 "can't parse entities"), "message is not modified" for an identical edit, confirmation
/// of updates by offset, and long polling. Callback buttons are checked as Telegram does
/// (exactly one action per button, `callback_data` of 1–64 bytes), a press arrives as a
/// `callback_query` update carrying the message, and `answerCallbackQuery` is accepted once per
/// query. Failures (429, 409, 5xx, dropped connections) are
/// scripted per method.
public final class FakeBotAPI: Sendable {
    public static let token = "987654321:AAF-fake-BOT-TOKEN-SECRET-q8Zx"
    public static let botID: Int64 = 987_654_321
    public static let username = "devicegate_test_bot"

    /// A message the bot sent, as the chat shows it now.
    public struct SentMessage: Sendable, Equatable {
        public var chatID: Int64
        public var messageID: Int
        /// The markup as sent (last edit applied).
        public var html: String
        /// What the person sees: tags removed, entities decoded.
        public var text: String
        public var buttons: [Button]
        /// Earlier versions' visible texts, oldest first.
        public var history: [String]
        public var edited: Bool { !history.isEmpty }
    }

    public struct Button: Sendable, Equatable {
        public var text: String
        public var url: String?
        public var callbackData: String?
        public init(text: String, url: String) {
            self.text = text
            self.url = url
        }
        public init(text: String, callbackData: String) {
            self.text = text
            self.callbackData = callbackData
        }
    }

    /// What the bot answered to a press.
    public struct CallbackAnswer: Sendable, Equatable {
        public var queryID: String
        public var text: String?
        public init(queryID: String, text: String?) {
            self.queryID = queryID
            self.text = text
        }
    }

    public struct State: Sendable {
        public var messages: [SentMessage] = []
        public var pending: [(id: Int, json: Data)] = []
        /// Every update ever queued, for ``redeliver(_:)``.
        public var archive: [Int: Data] = [:]
        public var nextUpdateID = 500
        public var nextMessageID = 1
        public var scripted: [String: [ScriptedResponse]] = [:]
        /// The `offset` of every `getUpdates` call, in order.
        public var getUpdatesOffsets: [Int?] = []
        /// Answer button URLs on loopback hosts as Telegram does: 400 BUTTON_URL_INVALID.
        public var rejectLoopbackButtons = false
        /// Every parse or validation error this double answered with.
        public var refusals: [String] = []
        /// Presses sent and not yet answered, by query id.
        public var openCallbacks: Set<String> = []
        public var callbackAnswers: [CallbackAnswer] = []
        public var nextCallbackID = 7_000
    }

    public let server: LoopbackServer
    private let state: NIOLockedValueBox<State>

    public var apiBase: URL { server.baseURL }
    public var snapshot: State { state.withLockedValue { $0 } }
    public var messages: [SentMessage] { snapshot.messages }
    public func update(_ body: @Sendable (inout State) -> Void) { state.withLockedValue(body) }

    private init(server: LoopbackServer, state: NIOLockedValueBox<State>) {
        self.server = server
        self.state = state
    }

    public static func start() async throws -> FakeBotAPI {
        let state = NIOLockedValueBox(State())
        let server = try await LoopbackServer.start { request in await Self.handle(request, state) }
        return FakeBotAPI(server: server, state: state)
    }

    public func stop() async { await server.stop() }

    /// The next calls of `method` get these answers, in order, before normal service resumes.
    public func script(_ method: String, _ answers: [ScriptedResponse]) {
        update { $0.scripted[method.lowercased(), default: []] += answers }
    }

    /// A Bot API error envelope, as Telegram sends it.
    public static func error(_ code: Int, _ description: String, retryAfter: Int? = nil) -> ScriptedResponse {
        var object: [String: Any] = ["ok": false, "error_code": code, "description": description]
        if let retryAfter { object["parameters"] = ["retry_after": retryAfter] }
        return .json(code, object)
    }

    /// Queues a text message from a person, as `getUpdates` will deliver it. Returns its update id.
    @discardableResult
    public func receive(_ text: String, chatID: Int64, userID: Int64? = nil, username: String = "alice", chatType: String? = nil)
        -> Int
    {
        state.withLockedValue { s in
            let id = s.nextUpdateID
            s.nextUpdateID += 1
            let user = userID ?? chatID
            var message: [String: Any] = [
                "message_id": 10_000 + id, "date": Int(Date().timeIntervalSince1970), "text": text,
                "from": ["id": user, "is_bot": false, "first_name": "Alice", "username": username],
                "chat": ["id": chatID, "type": chatType ?? (chatID < 0 ? "supergroup" : "private")],
            ]
            if text.hasPrefix("/") {
                let length = text.prefix { !$0.isWhitespace }.utf16.count
                message["entities"] = [["type": "bot_command", "offset": 0, "length": length]]
            }
            let json = try! JSONSerialization.data(withJSONObject: ["update_id": id, "message": message])
            s.pending.append((id, json))
            s.archive[id] = json
            return id
        }
    }

    /// A person presses the button labelled `button` on message `messageID`, as Telegram
    /// delivers it: a `callback_query` update with the presser, the message and the button's
    /// data. Returns the query id, or nil when the message has no such button.
    @discardableResult
    public func press(
        _ button: String, messageID: Int, userID: Int64, firstName: String = "Alice", username: String? = "alice", chatID: Int64? = nil
    ) -> String? {
        let found = state.withLockedValue { s -> (SentMessage, String)? in
            guard let message = s.messages.first(where: { $0.messageID == messageID && (chatID == nil || $0.chatID == chatID) }),
                let data = message.buttons.first(where: { $0.text == button })?.callbackData
            else { return nil }
            return (message, data)
        }
        guard let (message, data) = found else { return nil }
        return pressRaw(data: data, messageID: messageID, chatID: message.chatID, userID: userID, firstName: firstName, username: username)
    }

    /// A `callback_query` with any data at all, on message `messageID` in `chatID`: what a
    /// modified client or a replay can send, since Telegram passes `data` through unchecked.
    @discardableResult
    public func pressRaw(
        data: String?, messageID: Int, chatID: Int64, userID: Int64, firstName: String = "Mallory", username: String? = nil
    ) -> String {
        state.withLockedValue { s in
            let id = s.nextUpdateID
            s.nextUpdateID += 1
            let queryID = "cq-\(s.nextCallbackID)"
            s.nextCallbackID += 1
            s.openCallbacks.insert(queryID)
            var from: [String: Any] = ["id": userID, "is_bot": false, "first_name": firstName]
            if let username { from["username"] = username }
            var query: [String: Any] = ["id": queryID, "from": from, "chat_instance": "ci-\(chatID)"]
            let message =
                s.messages.first(where: { $0.messageID == messageID && $0.chatID == chatID })
                ?? SentMessage(chatID: chatID, messageID: messageID, html: "x", text: "x", buttons: [], history: [])
            query["message"] = Self.messageJSON(message)
            if let data { query["data"] = data }
            let json = try! JSONSerialization.data(withJSONObject: ["update_id": id, "callback_query": query])
            s.pending.append((id, json))
            s.archive[id] = json
            return queryID
        }
    }

    /// Queues an update exactly as written, for what Telegram's own serialiser would never send
    /// but a proxy, a local Bot API server or a future Bot API version might: missing or
    /// mistyped fields, unknown update types. `json` gets the update id the double confirms it
    /// by (offsets above it drop it), whether or not the JSON carries it. Returns that id.
    @discardableResult
    public func receiveRaw(_ json: (_ updateID: Int) -> String) -> Int {
        state.withLockedValue { s in
            let id = s.nextUpdateID
            s.nextUpdateID += 1
            let data = Data(json(id).utf8)
            s.pending.append((id, data))
            s.archive[id] = data
            return id
        }
    }

    /// Puts an update back as unconfirmed: what Telegram holds when a poller stopped after
    /// handling it but before its next `getUpdates` told Telegram so.
    public func redeliver(_ id: Int) {
        update { s in
            guard let json = s.archive[id], !s.pending.contains(where: { $0.id == id }) else { return }
            s.pending.append((id, json))
            s.pending.sort { $0.id < $1.id }
        }
    }

    /// Waits (in real time: this is the server side) until `condition` holds.
    public func wait(
        for what: String, timeout: Double = 60, _ condition: @Sendable (State) -> Bool
    ) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition(snapshot) {
            guard Date() < deadline else { throw WaitTimeout(what: what) }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
    }

    public struct WaitTimeout: Error, CustomStringConvertible {
        public let what: String
        public var description: String { "gave up waiting for \(what)" }
    }

    // MARK: Server side

    static func handle(_ request: RecordedRequest, _ state: NIOLockedValueBox<State>) async -> ScriptedResponse {
        let prefix = "/bot\(token)/"
        guard request.path.hasPrefix(prefix) else {
            return error(401, "Unauthorized")
        }
        let method = String(request.path.dropFirst(prefix.count)).lowercased()
        if let scripted = state.withLockedValue({ s -> ScriptedResponse? in
            guard var queue = s.scripted[method], !queue.isEmpty else { return nil }
            let next = queue.removeFirst()
            s.scripted[method] = queue
            return next
        }) {
            return scripted
        }
        let parameters = (try? JSONSerialization.jsonObject(with: Data(request.body.utf8))) as? [String: Any] ?? [:]
        switch method {
        case "getme":
            return ok(["id": botID, "is_bot": true, "first_name": "devicegate test", "username": username])
        case "sendmessage":
            return state.withLockedValue { send(parameters, &$0) }
        case "editmessagetext":
            return state.withLockedValue { edit(parameters, &$0) }
        case "getupdates":
            return await updates(parameters, state)
        case "answercallbackquery":
            return state.withLockedValue { answer(parameters, &$0) }
        default:
            return error(404, "Not Found")
        }
    }

    static func ok(_ result: Any) -> ScriptedResponse { .json(200, ["ok": true, "result": result]) }

    static func int64(_ value: Any?) -> Int64? {
        if let n = value as? NSNumber { return n.int64Value }
        if let s = value as? String { return Int64(s) }
        return nil
    }

    static func refuse(_ s: inout State, _ description: String) -> ScriptedResponse {
        s.refusals.append(description)
        return error(400, description)
    }

    /// Text and buttons as Telegram would accept them, or the 400 it would answer.
    struct Refusal: Error { let answer: ScriptedResponse }

    static func render(_ parameters: [String: Any], _ s: inout State) throws -> (String, String, [Button]) {
        guard let html = parameters["text"] as? String else { throw Refusal(answer: refuse(&s, "Bad Request: message text is empty")) }
        let visible: String
        switch parameters["parse_mode"] as? String {
        case "HTML", "html":
            do { visible = try TelegramHTMLCheck.visibleText(html) } catch let problem as TelegramHTMLCheck.Problem {
                throw Refusal(answer: refuse(&s, "Bad Request: can't parse entities: \(problem.text)"))
            }
        case nil:
            visible = html
        case let other?:
            throw Refusal(answer: refuse(&s, "Bad Request: this double only speaks HTML, not \(other)"))
        }
        if visible.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw Refusal(answer: refuse(&s, "Bad Request: message text is empty"))
        }
        if visible.utf16.count > 4096 { throw Refusal(answer: refuse(&s, "Bad Request: message is too long")) }
        var buttons: [Button] = []
        if let markup = parameters["reply_markup"] as? [String: Any] {
            guard let rows = markup["inline_keyboard"] as? [[[String: Any]]] else {
                throw Refusal(answer: refuse(&s, "Bad Request: can't parse reply keyboard markup JSON object"))
            }
            for button in rows.joined() {
                let data = button["callback_data"]
                guard let text = button["text"] as? String, !text.isEmpty, (button["url"] == nil) != (data == nil) else {
                    throw Refusal(
                        answer: refuse(
                            &s, "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"))
                }
                if let data {
                    guard let data = data as? String, (1...64).contains(data.utf8.count) else {
                        throw Refusal(answer: refuse(&s, "Bad Request: BUTTON_DATA_INVALID"))
                    }
                    buttons.append(Button(text: text, callbackData: data))
                    continue
                }
                guard let url = button["url"] as? String else {
                    throw Refusal(
                        answer: refuse(&s, "Bad Request: can't parse inline keyboard button: Field \"url\" must be of type String"))
                }
                let parsed = URL(string: url)
                guard let scheme = parsed?.scheme?.lowercased(), ["http", "https", "tg"].contains(scheme) else {
                    throw Refusal(answer: refuse(&s, "Bad Request: BUTTON_URL_INVALID"))
                }
                if s.rejectLoopbackButtons, let host = parsed?.host, host == "localhost" || host.hasPrefix("127.") {
                    throw Refusal(answer: refuse(&s, "Bad Request: BUTTON_URL_INVALID"))
                }
                buttons.append(Button(text: text, url: url))
            }
        }
        return (html, visible, buttons)
    }

    static func messageJSON(_ m: SentMessage, edited: Bool = false) -> [String: Any] {
        var object: [String: Any] = [
            "message_id": m.messageID, "date": Int(Date().timeIntervalSince1970), "text": m.text,
            "from": ["id": botID, "is_bot": true, "first_name": "devicegate test", "username": username],
            "chat": ["id": m.chatID, "type": m.chatID < 0 ? "supergroup" : "private"],
        ]
        if edited { object["edit_date"] = Int(Date().timeIntervalSince1970) }
        if !m.buttons.isEmpty {
            object["reply_markup"] = [
                "inline_keyboard": [
                    m.buttons.map { button -> [String: Any] in
                        if let data = button.callbackData { return ["text": button.text, "callback_data": data] }
                        return ["text": button.text, "url": button.url ?? ""]
                    }
                ]
            ]
        }
        return object
    }

    static func send(_ parameters: [String: Any], _ s: inout State) -> ScriptedResponse {
        guard let chatID = int64(parameters["chat_id"]) else { return refuse(&s, "Bad Request: chat_id is empty") }
        do {
            let (html, text, buttons) = try render(parameters, &s)
            let message = SentMessage(chatID: chatID, messageID: s.nextMessageID, html: html, text: text, buttons: buttons, history: [])
            s.nextMessageID += 1
            s.messages.append(message)
            return ok(messageJSON(message))
        } catch let refusal as Refusal {
            return refusal.answer
        } catch {
            return refuse(&s, "Bad Request: \(error)")
        }
    }

    static func edit(_ parameters: [String: Any], _ s: inout State) -> ScriptedResponse {
        guard let chatID = int64(parameters["chat_id"]), let messageID = int64(parameters["message_id"]).map(Int.init),
            let index = s.messages.firstIndex(where: { $0.chatID == chatID && $0.messageID == messageID })
        else { return refuse(&s, "Bad Request: message to edit not found") }
        do {
            let (html, text, buttons) = try render(parameters, &s)
            // Without reply_markup the keyboard goes; an identical text and keyboard is refused.
            let current = s.messages[index]
            if current.text == text && current.buttons == buttons {
                return error(
                    400,
                    "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message"
                )
            }
            s.messages[index].history.append(current.text)
            s.messages[index].html = html
            s.messages[index].text = text
            s.messages[index].buttons = buttons
            return ok(messageJSON(s.messages[index], edited: true))
        } catch let refusal as Refusal {
            return refusal.answer
        } catch {
            return refuse(&s, "Bad Request: \(error)")
        }
    }

    /// Each press is answered once; Telegram refuses unknown and answered ones alike.
    static func answer(_ parameters: [String: Any], _ s: inout State) -> ScriptedResponse {
        guard let id = parameters["callback_query_id"] as? String, s.openCallbacks.remove(id) != nil else {
            return refuse(&s, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        }
        let text = parameters["text"] as? String
        if let text, text.count > 200 { return refuse(&s, "Bad Request: MESSAGE_TOO_LONG") }
        s.callbackAnswers.append(CallbackAnswer(queryID: id, text: text))
        return ok(true)
    }

    /// Confirms everything below `offset`, then answers what is pending, waiting briefly for
    /// something to arrive as a long poll does.
    static func updates(_ parameters: [String: Any], _ state: NIOLockedValueBox<State>) async -> ScriptedResponse {
        let offset = int64(parameters["offset"]).map(Int.init)
        let timeout = min(Double(int64(parameters["timeout"]) ?? 0), 0.3)
        state.withLockedValue { s in
            s.getUpdatesOffsets.append(offset)
            if let offset { s.pending.removeAll { $0.id < offset } }
        }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let batch = state.withLockedValue { Array($0.pending.prefix(100)) }
            if !batch.isEmpty || Date() >= deadline {
                let items = batch.map { String(decoding: $0.json, as: UTF8.self) }.joined(separator: ",")
                return ScriptedResponse(
                    status: 200, headers: [("Content-Type", "application/json")], body: Data(#"{"ok":true,"result":[\#(items)]}"#.utf8))
            }
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
    }
}

/// Telegram's HTML parse mode, checked strictly: only its tags, balanced; `&` only in
/// `&lt;` `&gt;` `&amp;` `&quot;` and numeric entities; no bare `<` or `>`.
public enum TelegramHTMLCheck {
    static let tags: Set<String> = [
        "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code", "pre", "blockquote", "tg-emoji",
    ]

    public struct Problem: Error {
        public let text: String
    }

    public static func visibleText(_ html: String) throws -> String {
        var out = ""
        var open: [String] = []
        var index = html.startIndex
        while index < html.endIndex {
            let character = html[index]
            switch character {
            case "<":
                guard let close = html[index...].firstIndex(of: ">") else {
                    throw Problem(text: "Unclosed start tag at byte offset \(html.utf8.distance(from: html.startIndex, to: index))")
                }
                let inner = html[html.index(after: index)..<close]
                if inner.hasPrefix("/") {
                    let name = inner.dropFirst().lowercased()
                    guard open.last == name else { throw Problem(text: "Unexpected end tag \"\(name)\"") }
                    open.removeLast()
                } else {
                    let name = String(inner.prefix { !$0.isWhitespace }).lowercased()
                    guard tags.contains(name) else { throw Problem(text: "Unsupported start tag \"\(name)\"") }
                    if name == "a" && !inner.contains("href=") { throw Problem(text: "Can't find end of the tag attribute") }
                    open.append(name)
                }
                index = html.index(after: close)
                continue
            case ">":
                throw Problem(text: "Character '>' is reserved and must be escaped")
            case "&":
                guard let semicolon = html[index...].prefix(12).firstIndex(of: ";") else {
                    throw Problem(text: "Character '&' is reserved and must be escaped as &amp;")
                }
                let entity = String(html[html.index(after: index)..<semicolon])
                switch entity {
                case "lt": out += "<"
                case "gt": out += ">"
                case "amp": out += "&"
                case "quot": out += "\""
                default:
                    guard entity.hasPrefix("#"), let code = UInt32(entity.dropFirst()), let scalar = Unicode.Scalar(code) else {
                        throw Problem(text: "Unsupported HTML entity \"&\(entity);\"")
                    }
                    out.unicodeScalars.append(scalar)
                }
                index = html.index(after: semicolon)
                continue
            default:
                out.append(character)
            }
            index = html.index(after: index)
        }
        guard open.isEmpty else { throw Problem(text: "Can't find end tag corresponding to start tag \"\(open.last!)\"") }
        return out
    }
}
