import AsyncHTTPClient
import Crypto
import DeviceGateKit
import DeviceGateTelegram
import DeviceGateTestSupport
import Foundation
import NIOConcurrencyHelpers
import Testing

/// Calls an `approve` rule holds, end to end: an agent calls the gateway over HTTP, the person
/// decides in the chat (the Bot API double, polled by a real bot), a real upstream answers.
@Suite struct ApprovalGatewayTests {
    static let chat: Int64 = 4242
    static let body = Data(#"{"to":"bob@example.com","subject":"Q3","password":"hunter2"}"#.utf8)

    /// A gateway whose `POST /upload` needs approval, a bot reading presses, a clock the test moves.
    struct Setup {
        let gateway: GatewayHarness
        let fake: FakeBotAPI
        let time: SteppedTime
        let bot: Task<Void, any Error>

        /// - Parameter remaining: seconds the stored token is valid for, from now.
        static func start(timeout: Int = 120, breakerDenials: Int = 20, remaining: Double = 3000) async throws -> Setup {
            let fake = try await FakeBotAPI.start()
            let time = SteppedTime(Date())
            let parts = NIOLockedBox()
            let gateway = try await GatewayHarness.start(
                config: { $0.breakerDenials = breakerDenials },
                settings: { settings in
                    settings.approval = ApprovalPolicy(rules: [try! PolicyRule("POST /upload")], timeout: timeout)
                }, remaining: remaining, time: time,
                approver: { store in
                    let api = BotAPI(token: Secret(FakeBotAPI.token), base: fake.apiBase, transport: AsyncHTTPTransport.shared, time: time)
                    let held = HeldRequests(time: time)
                    let approver = TelegramApprover(
                        api: api, chatIDs: [chat], allowedUserIDs: [chat], signer: ApprovalTicket.Signer(storeKey: store.key), held: held,
                        audit: nil, time: time, log: { _ in })
                    parts.set(api: api, approver: approver, store: store)
                    return (approver, held)
                })
            let (api, approver, store) = try #require(parts.get())
            let bot = TelegramBot(
                api: api, chatIDs: [chat], config: DeviceGateConfig(), store: store, transport: AsyncHTTPTransport.shared,
                time: ManualTime(), offsetFile: UpdateOffsetFile(path: gateway.dir.file("bot.json")),
                options: TelegramBot.Options(pollTimeout: 1, log: { _ in }), approver: approver)
            return Setup(gateway: gateway, fake: fake, time: time, bot: Task { try await bot.run() })
        }

        func post() -> Task<GatewayHarness.Answer, any Error> {
            let gateway = self.gateway
            return Task {
                try await gateway.call(
                    "POST", "/work/upload?draft=1", headers: [("Content-Type", "application/json")], body: ApprovalGatewayTests.body)
            }
        }

        func message(_ count: Int = 1) async throws -> FakeBotAPI.SentMessage {
            try await fake.wait(for: "approval message \(count)") { $0.messages.count >= count }
            return fake.messages[count - 1]
        }

        func stop() async {
            bot.cancel()
            _ = try? await bot.value
            await gateway.stop()
            await fake.stop()
        }
    }

    /// The person may take longer than the token has left: the call goes out with a token that
    /// is valid when it is sent, not the one admission found.
    @Test func aCallApprovedAfterItsTokenWentStaleGoesOutWithAFreshOne() async throws {
        let s = try await Setup.start(timeout: 900, remaining: 400)
        let call = s.post()
        let message = try await s.message()
        // Ten minutes pass while the message waits: the token admission saw has 400 s left.
        s.time.advance(600)
        s.fake.press("✅ Approve once", messageID: message.messageID, userID: Self.chat)
        let answer = try await call.value
        #expect(answer.status == 200)
        let sent = try #require(s.gateway.upstream.requests.last?.header("Authorization"))
        #expect(sent == "Bearer " + FakeIdentityProvider.accessToken(2), "refreshed after the wait, not the stale one")
        await s.stop()
    }

    @Test func anApprovedPostReachesTheUpstreamWithTheAgentsBytesAndTheAnswerComesBack() async throws {
        let s = try await Setup.start()
        let call = s.post()
        let message = try await s.message()
        #expect(message.text.contains("POST /upload"))
        #expect(message.text.contains("Body: \(Self.body.count) bytes · SHA-256 \(Self.sha(Self.body))"))
        #expect(!message.text.contains("hunter2"))
        #expect(s.gateway.upstream.requests.isEmpty, "nothing is sent before the person decides")
        s.fake.press("✅ Approve once", messageID: message.messageID, userID: Self.chat)
        let answer = try await call.value
        #expect(answer.status == 200)
        #expect(answer.json["body_sha256"] as? String == Self.sha(Self.body), "the body forwarded is exactly the agent's")
        #expect(answer.json["query"] as? String == "draft=1")
        try await s.fake.wait(for: "the edit") { $0.messages[0].edited }
        #expect(s.fake.messages[0].text.hasSuffix("✅ Approved by Alice (@alice) — the upstream answered 200"))
        let records = try await s.gateway.auditRecords { $0.contains { $0["event"] as? String == "response" } }
        let request = try #require(records.first { $0["event"] as? String == "request" })
        #expect(request["approved_by_id"] as? String == "\(Self.chat)")
        #expect(request["approve_rule"] as? String == "POST /upload")
        #expect(records.contains { $0["event"] as? String == "approval" && $0["outcome"] as? String == "approved" })
        await s.stop()
    }

    @Test func deniedAndTimedOutCallsAre403AndNeverSent() async throws {
        let s = try await Setup.start(timeout: 30)
        let denied = s.post()
        s.fake.press("🚫 Deny", messageID: try await s.message().messageID, userID: Self.chat)
        let answer = try await denied.value
        #expect(answer.status == 403)
        #expect(answer.json["error"] as? String == "approval_denied")

        let late = s.post()
        _ = try await s.message(2)
        try await s.time.waitForSleepers(1)
        s.time.advance(30)
        let timedOut = try await late.value
        #expect(timedOut.status == 403)
        #expect(timedOut.json["error"] as? String == "approval_timeout")
        try await s.fake.wait(for: "the timeout edit") { $0.messages[1].edited }
        #expect(s.fake.messages[1].buttons.isEmpty)
        #expect(s.gateway.upstream.requests.isEmpty)
        // Calls no approve rule matches pass as before.
        #expect(try await s.gateway.call("GET", "/work/v1.0/me").status == 200)
        await s.stop()
    }

    @Test func anAgentThatHangsUpWithdrawsItsCall() async throws {
        let s = try await Setup.start()
        let body = String(decoding: Self.body, as: UTF8.self)
        let fake = s.fake
        let approve = NIOLockedValueBox<String?>(nil)
        try await RawHTTP.hangUp(
            port: s.gateway.port,
            "POST /work/upload HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(Self.body.count)\r\n\r\n\(body)"
        ) {
            try await fake.wait(for: "the approval message") { !$0.messages.isEmpty }
            approve.withLockedValue { $0 = fake.messages[0].buttons.first?.callbackData }
        }
        try await s.fake.wait(for: "the withdrawal edit") { $0.messages.first?.edited == true }
        #expect(s.fake.messages[0].text.hasSuffix("↩️ The caller went away before a decision; nothing was sent."))
        #expect(s.fake.messages[0].buttons.isEmpty)
        // A press now finds nothing, and nothing reaches the upstream.
        s.fake.pressRaw(
            data: approve.withLockedValue { $0 }, messageID: s.fake.messages[0].messageID, chatID: Self.chat, userID: Self.chat)
        try await s.fake.wait(for: "the answer") { !$0.callbackAnswers.isEmpty }
        #expect(s.fake.snapshot.callbackAnswers[0].text == "Nothing changed: this request was already decided or has expired.")
        #expect(s.gateway.upstream.requests.isEmpty)
        await s.stop()
    }

    @Test func theBreakersAlertCarriesUnlockAndKeepLockedButtons() async throws {
        let s = try await Setup.start(breakerDenials: 1)
        for _ in 0..<2 { #expect(try await s.gateway.call("DELETE", "/work/v1.0/me").status == 403) }
        let alert = try await s.message()
        #expect(alert.text.contains("work was locked by the breaker"))
        #expect(alert.buttons.map(\.text) == ["🔓 Unlock", "🔒 Keep locked"])
        #expect(ProfileLock.read("work", in: s.gateway.store.directory) != nil)
        #expect(try await s.gateway.call("GET", "/work/v1.0/me").status == 423)
        // A stranger's press changes nothing.
        let stranger = try #require(s.fake.press("🔓 Unlock", messageID: alert.messageID, userID: 666))
        try await s.fake.wait(for: "the stranger's answer") { $0.callbackAnswers.contains { $0.queryID == stranger } }
        #expect(ProfileLock.read("work", in: s.gateway.store.directory) != nil)

        s.fake.press("🔓 Unlock", messageID: alert.messageID, userID: Self.chat)
        try await s.fake.wait(for: "the unlock edit") { $0.messages[0].edited }
        #expect(s.fake.messages[0].text.hasSuffix("🔓 Unlocked by Alice (@alice)."))
        #expect(ProfileLock.read("work", in: s.gateway.store.directory) == nil)
        let records = try await s.gateway.auditRecords { $0.contains { $0["event"] as? String == "unlocked" } }
        #expect(records.contains { $0["event"] as? String == "unlocked" && $0["by_id"] as? String == "\(Self.chat)" })
        await s.stop()
    }

    static func sha(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }
}

/// Hands the parts made inside the harness's factory back to the test.
final class NIOLockedBox: Sendable {
    private let box = NIOLockedValueBox<(BotAPI, TelegramApprover, TokenStore)?>(nil)
    func set(api: BotAPI, approver: TelegramApprover, store: TokenStore) { box.withLockedValue { $0 = (api, approver, store) } }
    func get() -> (BotAPI, TelegramApprover, TokenStore)? { box.withLockedValue { $0 } }
}

/// `/freeze` as the gateway sees it: 423 `frozen` from the very next call, lifted as fast.
@Suite struct FreezeGatewayTests {
    @Test func aFreezeRefusesTheNextCallAndAnUnfreezeLetsItThrough() async throws {
        let gw = try await GatewayHarness.start(sharedLocks: true)
        let locks = try #require(gw.locks)
        let brake = KillSwitch(
            store: gw.store, locks: locks, windows: nil, transport: AsyncHTTPTransport.shared, time: SystemTimeSource(), audit: nil)
        #expect(try await gw.call("GET", "/work/v1.0/me").status == 200)
        try await brake.freeze("work", by: "Alice", actor: [:])
        let frozen = try await gw.call("GET", "/work/v1.0/me")
        #expect(frozen.status == 423)
        #expect(frozen.json["error"] as? String == "frozen")
        #expect((frozen.json["reason"] as? String)?.contains("frozen by Alice") == true)
        #expect(try await brake.unfreeze("work", actor: [:]))
        #expect(try await gw.call("GET", "/work/v1.0/me").status == 200)
        #expect(gw.upstream.requests.count == 2, "the frozen call never left")
        await gw.stop()
    }

    @Test func aFreezeWrittenByAnotherProcessHoldsWithinASecond() async throws {
        let gw = try await GatewayHarness.start()
        #expect(try await gw.call("GET", "/work/v1.0/me").status == 200)
        try ProfileLock(profile: "work", reason: "frozen by Bob", lockedAt: Date()).write(kind: .frozen, in: gw.store.directory)
        try await Task.sleep(for: .milliseconds(1100))
        #expect(try await gw.call("GET", "/work/v1.0/me").status == 423)
        await gw.stop()
    }
}
