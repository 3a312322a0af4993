import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

/// `token_access` and `/freeze` as `devicegate token` and `exec` see them: refused with exit 77
/// before any token is loaded, pointing at the gateway.
@Suite struct TokenAccessTests {
    func sandbox(_ access: String) throws -> Sandbox {
        let idp = try LocalIdP.load()
        return Sandbox(
            idp: idp,
            config: """
                [profiles.work]
                provider = "oidc"
                issuer = "\(idp.issuer)"
                client_id = "\(idp.publicClient)"
                scopes = ["openid"]
                upstream = "https://graph.example"
                allow = ["GET /v1.0/me"]
                token_access = "\(access)"
                """)
    }

    @Test func denyRefusesTokenAndExecWith77AndNamesTheGateway() throws {
        let box = try sandbox("deny")
        defer { box.remove() }
        for arguments in [["token", "work"], ["exec", "work", "--", "/bin/true"]] {
            let result = try ProcessResult.run(Sandbox.binary, arguments, environment: box.environment)
            #expect(result.status == 77, "\(arguments)")
            #expect(result.stderr.contains("token_access = \"deny\""))
            #expect(result.stderr.contains("http://127.0.0.1:8787/work/"))
            #expect(result.stdout.isEmpty)
        }
    }

    @Test func aFrozenProfileRefusesWhateverItsAccess() throws {
        let box = try sandbox("allow")
        defer { box.remove() }
        _ = try box.store()  // the data directory, as a first run makes it
        try ProfileLock(profile: "work", reason: "frozen by Alice", lockedAt: Date()).write(kind: .frozen, in: box.dir.file("data"))
        let result = try box.run("token", "work")
        #expect(result.status == 77)
        #expect(result.stderr.contains("profile work is frozen by Alice"))
        let status = try box.run("status", "work")
        #expect(status.stdout.contains("frozen:   frozen by Alice"))
    }

    @Test func approveWithoutABotRefusesPlainly() throws {
        let box = try sandbox("approve")
        defer { box.remove() }
        var environment = box.environment
        environment["TELEGRAM_BOT_TOKEN"] = nil
        let result = try ProcessResult.run(Sandbox.binary, ["token", "work"], environment: environment)
        #expect(result.status == 77)
        #expect(result.stderr.contains("no Telegram bot is configured"))
    }
}

/// `token_access = "approve"`: the binary polls the bot itself while it waits (no other poller
/// runs), against the Bot API double.
@Suite struct TokenApprovalTests {
    func environment(_ box: Sandbox, _ fake: FakeBotAPI) -> [String: String] {
        var environment = box.environment
        environment["TELEGRAM_BOT_TOKEN"] = FakeBotAPI.token
        environment["TELEGRAM_CHAT_ID"] = "4242"
        environment["TELEGRAM_API_BASE"] = fake.apiBase.absoluteString
        return environment
    }

    func run(_ box: Sandbox, _ fake: FakeBotAPI) -> Task<ProcessResult, any Error> {
        let environment = environment(box, fake)
        return Task.detached { try ProcessResult.run(Sandbox.binary, ["token", "work"], environment: environment) }
    }

    @Test func theRawTokenWaitsForThePersonAndADenialRefuses() async throws {
        let box = try TokenAccessTests().sandbox("approve")
        let fake = try await FakeBotAPI.start()
        defer { box.remove() }

        let approved = run(box, fake)
        try await fake.wait(for: "the question") { $0.messages.count == 1 }
        let message = fake.messages[0]
        #expect(message.text.contains("Raw token for work requested by PID"))
        #expect(message.text.contains("via devicegate token"))
        fake.press("✅ Approve once", messageID: message.messageID, userID: 4242)
        let afterApproval = try await approved.value
        // Approved: it goes on to the token, which this sandbox has none of.
        #expect(afterApproval.status == 3, "\(afterApproval.stderr)")
        try await fake.wait(for: "the edit") { $0.messages[0].edited }
        #expect(fake.messages[0].text.hasSuffix("— the raw token was handed out"))

        let denied = run(box, fake)
        try await fake.wait(for: "the second question") { $0.messages.count == 2 }
        fake.press("🚫 Deny", messageID: fake.messages[1].messageID, userID: 4242)
        let afterDenial = try await denied.value
        #expect(afterDenial.status == 77)
        #expect(afterDenial.stderr.contains("was not approved: approval_denied"))
        #expect(!afterDenial.stderr.contains(FakeBotAPI.token))
        await fake.stop()
    }

    @Test func anotherPollerMeansARefusalNotAFight() async throws {
        let box = try TokenAccessTests().sandbox("approve")
        let fake = try await FakeBotAPI.start()
        defer { box.remove() }
        _ = try box.store()
        let lock = try await FileLock.acquire(box.dir.file("data/telegram-poller.lock"), timeout: 1)
        let result = try await run(box, fake).value
        lock.release()
        #expect(result.status == 77)
        #expect(result.stderr.contains("a running devicegate serve or bot polls the Telegram bot"))
        #expect(fake.snapshot.getUpdatesOffsets.isEmpty, "it never polled")
        await fake.stop()
    }
}
