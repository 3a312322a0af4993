import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

/// `devicegate serve` with a bot token: it polls the bot itself, and a second poller on the
/// same data directory is refused plainly rather than fighting it for updates.
@Suite(.serialized) struct ServeBotTests {

    /// `devicegate serve` on `box`'s config with the Bot API double as its bot, both stopped
    /// afterwards, also when `body` fails.
    static func withServe(_ box: Sandbox, _ body: (FakeBotAPI, Child, [String: String]) async throws -> Void) async throws {
        let fake = try await FakeBotAPI.start()
        let environment = TelegramTests.environment(box, fake)
        let serve: Child
        do {
            serve = try Child.start(
                ["serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"], environment: environment, in: box)
        } catch {
            await fake.stop()
            throw error
        }
        do { try await body(fake, serve, environment) } catch {
            serve.kill()
            await fake.stop()
            throw error
        }
        serve.kill()
        await fake.stop()
    }

    @Test func serveRunsTheBotAndASecondPollerIsRefused() async throws {
        let idp = try LocalIdP.load()
        let box = Sandbox(
            idp: idp,
            config: """
                [profiles.work]
                provider = "oidc"
                issuer = "\(idp.issuer)"
                client_id = "\(idp.publicClient)"
                scopes = ["openid"]
                upstream = "http://127.0.0.1:9"
                allow = ["GET /v1.0/me"]
                approve = ["GET /v1.0/me"]
                """)
        defer { box.remove() }
        try await Self.withServe(box) { fake, serve, environment in
            fake.receive("/help", chatID: TelegramTests.chat)
            try await fake.wait(for: "serve's bot to answer /help") { !$0.messages.isEmpty }
            #expect(fake.messages[0].text.contains("/freeze [profile]"))
            #expect(serve.stderr.contains("Telegram bot running"))

            let bot = try Child.start(["bot", "--poll-timeout", "2"], environment: environment, in: box)
            let status = try await bot.exit(timeout: 30)
            #expect(status == 1)
            #expect(bot.stderr.contains("another devicegate process (serve or bot) already polls the Telegram bot"))
            #expect(!bot.stderr.contains(FakeBotAPI.token) && !serve.stderr.contains(FakeBotAPI.token))
            #expect(try await serve.terminate() == 0)
        }
    }

    /// With `serve` polling the bot, `devicegate token` for a `token_access = "approve"` profile
    /// asks `serve` over its approval socket; the person's tap in the chat decides.
    @Test func aRawTokenIsAskedThroughTheRunningServe() async throws {
        let box = try TokenAccessTests().sandbox("approve")
        defer { box.remove() }
        try await Self.withServe(box) { fake, serve, environment in
            let socket = box.dir.file("data/approvals.sock")
            for _ in 0..<300 where !FileManager.default.fileExists(atPath: socket) { try await Task.sleep(for: .milliseconds(100)) }
            #expect(FileManager.default.fileExists(atPath: socket), "serve publishes its approval socket: \(serve.stderr)")
            let mode = try FileManager.default.attributesOfItem(atPath: socket)[.posixPermissions] as? Int
            #expect(mode == 0o600, "only this user may ask")

            func token() -> Task<ProcessResult, any Error> {
                Task.detached { try ProcessResult.run(Sandbox.binary, ["token", "work"], environment: environment) }
            }
            let approved = token()
            try await fake.wait(for: "the question, from serve's bot") { $0.messages.count == 1 }
            #expect(fake.messages[0].text.contains("Raw token for work requested by PID"))
            fake.press("✅ Approve once", messageID: fake.messages[0].messageID, userID: TelegramTests.chat)
            let afterApproval = try await approved.value
            // Approved: it goes on to the token, which this sandbox has none of (exit 3, sign-in needed).
            #expect(afterApproval.status == 3, "\(afterApproval.stderr)")
            #expect(afterApproval.stderr.contains("through the running devicegate serve"))

            let denied = token()
            try await fake.wait(for: "the second question") { $0.messages.count == 2 }
            fake.press("🚫 Deny", messageID: fake.messages[1].messageID, userID: TelegramTests.chat)
            let afterDenial = try await denied.value
            #expect(afterDenial.status == 77)
            #expect(afterDenial.stderr.contains("was not approved: approval_denied"))
            #expect(!afterDenial.stderr.contains(FakeBotAPI.token) && !serve.stderr.contains(FakeBotAPI.token))
            #expect(try await serve.terminate() == 0)
        }
    }
}
