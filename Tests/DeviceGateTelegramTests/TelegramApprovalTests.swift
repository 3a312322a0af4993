import DeviceGateKit
import DeviceGateTelegram
import DeviceGateTestSupport
import Foundation
import Testing

/// Approvals in the chat: the bot polls, the approver shows held requests and checks presses,
/// all against the Bot API double; deadlines run on a clock the test moves.
@Suite struct TelegramApprovalTests {
    static let once = "✅ Approve once"
    static let window = "⏱ Approve for 15 minutes"
    static let deny = "🚫 Deny"

    /// A bot with an approver, and the desk a door would call.
    struct Setup {
        let chat: Chat
        let time: SteppedTime
        let desk: ApprovalDesk
        let approver: TelegramApprover
        let bot: RunningBot
        let store: TokenStore

        static func start(chats: [Int64] = [Chat.id], allowedUsers: [Int64] = []) async throws -> Setup {
            let chat = try await Chat.start()
            let store = try TokenStore(directory: chat.dir.file("data"), keyFile: nil)
            let audit = AuditLog(path: chat.auditPath, store: store)
            let clock = SteppedTime()
            let held = HeldRequests(time: clock)
            let log = chat.log
            let approver = TelegramApprover(
                api: chat.api(), chatIDs: chats, allowedUserIDs: allowedUsers, signer: ApprovalTicket.Signer(storeKey: store.key),
                held: held, audit: audit, time: clock, log: { log.append($0) })
            let desk = ApprovalDesk(approver: approver, held: held, audit: audit, time: clock)
            let bot = TelegramBot(
                api: chat.api(), chatIDs: chats, allowedUserIDs: allowedUsers, config: DeviceGateConfig(), store: store, audit: audit,
                transport: AsyncHTTPTransport.shared, time: chat.time, offsetFile: UpdateOffsetFile(path: chat.dir.file("data/bot.json")),
                options: TelegramBot.Options(pollTimeout: 1, log: { log.append($0) }), approver: approver)
            return Setup(chat: chat, time: clock, desk: desk, approver: approver, bot: RunningBot(bot), store: store)
        }

        func request(
            agent: String = "openclaw", rule: String = "POST /v1.0/me/sendMail",
            body: String = #"{"to":"bob@example.com","password":"hunter2"}"#
        )
            -> ApprovalRequest
        {
            let call = HeldCall(
                method: "POST", path: "/v1.0/me/sendMail", query: "draft=1&api_key=s3cret", body: Array(body.utf8),
                contentType: "application/json", preview: true)
            return ApprovalRequest(
                profile: "work", agent: agent, rule: rule, subject: .call(call), heldAt: time.now(),
                expiresAt: time.now().addingTimeInterval(120))
        }

        /// Holds `request` in a task of its own and waits for its message.
        func hold(_ request: ApprovalRequest, messages: Int = 1) async throws -> (Task<ApprovalVerdict, Never>, FakeBotAPI.SentMessage) {
            let desk = self.desk
            let task = Task { await desk.hold(request) }
            try await chat.fake.wait(for: "the approval message") { $0.messages.count >= messages }
            return (task, chat.fake.messages[messages - 1])
        }

        func audit() throws -> String { (try? String(contentsOfFile: chat.auditPath, encoding: .utf8)) ?? "" }

        func finish() async throws {
            try await bot.stop()
            await chat.finish()
        }
    }

    @Test func approveOnceShowsTheCallAndEditsTheMessage() async throws {
        let s = try await Setup.start()
        let request = s.request()
        let (held, message) = try await s.hold(request)
        #expect(message.text.contains("Approval needed · profile work"))
        #expect(message.text.contains("Agent: openclaw"))
        #expect(message.text.contains("POST /v1.0/me/sendMail"))
        #expect(message.text.contains("Query parameters: draft, api_key"))
        #expect(!message.text.contains("s3cret"), "query values stay out of the chat")
        #expect(message.text.contains("SHA-256 \(request.callSHA)"))
        #expect(message.text.contains(#""to":"bob@example.com""#))
        #expect(!message.text.contains("hunter2"))
        #expect(message.text.contains("Expires 08:02:00 UTC (in 2 min)"))
        #expect(message.buttons.map(\.text) == [Self.once, Self.window, Self.deny])
        #expect(message.buttons.allSatisfy { ($0.callbackData?.utf8.count ?? 99) <= 64 })

        let press = try #require(s.chat.fake.press(Self.once, messageID: message.messageID, userID: Chat.id))
        let verdict = await held.value
        #expect(verdict == .approved(by: ApprovalPerson(id: "\(Chat.id)", name: "Alice (@alice)"), forWindow: false))
        await s.desk.conclude(request, verdict, result: "the upstream answered 202")
        let edited = try #require(s.chat.fake.messages.first)
        #expect(edited.text.hasSuffix("✅ Approved by Alice (@alice) — the upstream answered 202"))
        #expect(edited.buttons.isEmpty, "no live buttons linger")
        try await s.chat.fake.wait(for: "the answer to the press") { !$0.callbackAnswers.isEmpty }
        #expect(s.chat.fake.snapshot.callbackAnswers == [.init(queryID: press, text: "Approved once.")])
        let audit = try s.audit()
        #expect(audit.contains(#""event":"approval_held""#))
        #expect(
            audit.contains(#""outcome":"approved""#) && audit.contains(#""by_id":"4242""#) && audit.contains(#""by_name":"Alice (@alice)""#)
        )
        #expect(audit.contains(#""waited_ms":"#))
        #expect(!audit.contains("hunter2") && !audit.contains("s3cret"))
        try await s.finish()
    }

    @Test func aFifteenMinuteWindowCoversTheSameRuleAndAgentThenAsksAgain() async throws {
        let s = try await Setup.start()
        let (first, message) = try await s.hold(s.request())
        s.chat.fake.press(Self.window, messageID: message.messageID, userID: Chat.id)
        #expect(await first.value.isApproved)
        // The same rule and agent: no message.
        guard case .coveredByWindow = await s.desk.hold(s.request()) else {
            Issue.record("the window did not cover the second call")
            return
        }
        #expect(s.chat.fake.messages.count == 1)
        // Another agent asks.
        let (other, _) = try await s.hold(s.request(agent: "other"), messages: 2)
        other.cancel()
        _ = await other.value
        // After the window, the same agent asks again.
        s.time.advance(ApprovalPolicy.window)
        let (again, third) = try await s.hold(s.request(), messages: 3)
        s.chat.fake.press(Self.deny, messageID: third.messageID, userID: Chat.id)
        #expect(await again.value.error == "approval_denied")
        try await s.finish()
    }

    @Test func denyAndTimeoutRefuseAndEditTheMessage() async throws {
        let s = try await Setup.start()
        let (denied, message) = try await s.hold(s.request())
        s.chat.fake.press(Self.deny, messageID: message.messageID, userID: Chat.id)
        #expect(await denied.value.error == "approval_denied")
        try await s.chat.fake.wait(for: "the denial edit") { $0.messages[0].edited }
        #expect(s.chat.fake.messages[0].text.hasSuffix("🚫 Denied by Alice (@alice); the agent was refused (approval_denied)."))
        #expect(s.chat.fake.messages[0].buttons.isEmpty)

        let (late, second) = try await s.hold(s.request(), messages: 2)
        let approve = second.buttons.first?.callbackData
        try await s.time.waitForSleepers(1)
        s.time.advance(120)
        #expect(await late.value.error == "approval_timeout")
        let edited = try #require(s.chat.fake.messages.last)
        #expect(edited.text.hasSuffix("⌛ No answer in time; the agent was refused (approval_timeout)."))
        #expect(edited.buttons.isEmpty)
        // A press on the expired message changes nothing and says so.
        let press = s.chat.fake.pressRaw(data: approve, messageID: second.messageID, chatID: Chat.id, userID: Chat.id)
        try await s.chat.fake.wait(for: "the answer") { $0.callbackAnswers.contains { $0.queryID == press } }
        #expect(
            s.chat.fake.snapshot.callbackAnswers.last?.text == "Nothing changed: this request was already decided or has expired.")
        #expect(try s.audit().contains(#""outcome":"timed_out""#))
        try await s.finish()
    }

    @Test func forgedAlteredAndReplayedPressesChangeNothing() async throws {
        let s = try await Setup.start()
        let request = s.request()
        let (held, message) = try await s.hold(request)
        let valid = try #require(message.buttons.first { $0.text == Self.deny }?.callbackData)
        let forged = s.chat.fake.pressRaw(
            data: "o" + request.id.text + String(repeating: "A", count: 22), messageID: message.messageID, chatID: Chat.id, userID: Chat.id)
        let altered = s.chat.fake.pressRaw(data: "o" + valid.dropFirst(), messageID: message.messageID, chatID: Chat.id, userID: Chat.id)
        let junk = s.chat.fake.pressRaw(data: "approve", messageID: message.messageID, chatID: Chat.id, userID: Chat.id)
        try await s.chat.fake.wait(for: "three answers") { $0.callbackAnswers.count == 3 }
        for id in [forged, altered, junk] {
            #expect(
                s.chat.fake.snapshot.callbackAnswers.first { $0.queryID == id }?.text
                    == "Nothing changed: this button is not one of mine (forged or altered).")
        }
        #expect(await s.desk.held.request(request.id) != nil, "still waiting")

        s.chat.fake.press(Self.once, messageID: message.messageID, userID: Chat.id)
        #expect(await held.value.isApproved)
        // The same button again (a replay, a double tap), and the other buttons.
        let replay = s.chat.fake.pressRaw(
            data: message.buttons[0].callbackData, messageID: message.messageID, chatID: Chat.id, userID: Chat.id)
        let other = s.chat.fake.pressRaw(data: valid, messageID: message.messageID, chatID: Chat.id, userID: Chat.id)
        try await s.chat.fake.wait(for: "the replay's answers") { $0.callbackAnswers.count == 6 }
        for id in [replay, other] {
            #expect(
                s.chat.fake.snapshot.callbackAnswers.first { $0.queryID == id }?.text
                    == "Nothing changed: this request was already decided or has expired.")
        }
        let audit = try s.audit()
        #expect(audit.components(separatedBy: #""event":"approval_press_refused""#).count - 1 == 5)
        try await s.finish()
    }

    @Test func onlyAllowedPeopleInConfiguredChatsDecide() async throws {
        let group: Int64 = -100_777
        let s = try await Setup.start(chats: [group], allowedUsers: [7])
        let request = s.request()
        let (held, message) = try await s.hold(request)
        let data = try #require(message.buttons.first?.callbackData)
        let stranger = try #require(
            s.chat.fake.press(Self.once, messageID: message.messageID, userID: 8, firstName: "Mallory", username: "mal"))
        // The genuine button, carried into another chat.
        let elsewhere = s.chat.fake.pressRaw(data: data, messageID: message.messageID, chatID: Chat.stranger, userID: 7)
        try await s.chat.fake.wait(for: "two answers") { $0.callbackAnswers.count == 2 }
        let answers = s.chat.fake.snapshot.callbackAnswers
        #expect(answers.first { $0.queryID == stranger }?.text == "Nothing changed: you are not allowed to decide here.")
        #expect(answers.first { $0.queryID == elsewhere }?.text == "Nothing changed: this chat may not decide.")
        #expect(await s.desk.held.request(request.id) != nil)
        let audit = try s.audit()
        #expect(audit.contains(#""telegram_name":"Mallory (@mal)""#) && audit.contains(#""telegram_user":8"#))

        s.chat.fake.press(Self.once, messageID: message.messageID, userID: 7)
        #expect(await held.value == .approved(by: ApprovalPerson(id: "7", name: "Alice (@alice)"), forWindow: false))
        try await s.finish()
    }

    @Test func aCallerWhoLeavesWithdrawsTheRequestAndTheMessageSaysSo() async throws {
        let s = try await Setup.start()
        let request = s.request()
        let (held, message) = try await s.hold(request)
        held.cancel()
        #expect(await held.value == .withdrawn)
        let edited = try #require(s.chat.fake.messages.first)
        #expect(edited.text.hasSuffix("↩️ The caller went away before a decision; nothing was sent."))
        #expect(edited.buttons.isEmpty)
        s.chat.fake.press(Self.once, messageID: message.messageID, userID: Chat.id)
        #expect(try s.audit().contains(#""outcome":"withdrawn""#))
        try await s.finish()
    }

    @Test func twentyHeldRequestsEachGetAMessageAndTheirOwnDecision() async throws {
        let s = try await Setup.start()
        let desk = s.desk
        let requests = (0..<20).map { s.request(agent: "agent-\($0)") }
        let verdicts = Task {
            await withTaskGroup(of: (String, ApprovalVerdict).self) { group in
                for request in requests { group.addTask { (request.agent, await desk.hold(request)) } }
                var all: [String: ApprovalVerdict] = [:]
                for await (agent, verdict) in group { all[agent] = verdict }
                return all
            }
        }
        try await s.chat.fake.wait(for: "twenty messages") { $0.messages.count == 20 }
        for message in s.chat.fake.messages {
            let agent = try #require(message.text.split(separator: "\n").first { $0.hasPrefix("Agent: ") }?.dropFirst(7))
            let index = try #require(Int(agent.dropFirst(6)))
            s.chat.fake.press(index.isMultiple(of: 2) ? Self.once : Self.deny, messageID: message.messageID, userID: Chat.id)
        }
        let all = await verdicts.value
        for index in 0..<20 {
            #expect(all["agent-\(index)"]?.isApproved == index.isMultiple(of: 2), "agent-\(index)")
        }
        try await s.chat.fake.wait(for: "the denials' edits") { $0.messages.filter(\.edited).count == 10 }
        try await s.finish()
    }
}

extension ApprovalRequest {
    var callSHA: String {
        guard case .call(let call) = subject else { return "" }
        return call.bodySHA256
    }
}
