import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

/// `devicegate serve` with a bot token: it polls the bot itself, and a second poller on the
/// same data directory is refused plainly rather than fighting it for updates.
@Suite(.serialized) struct ServeBotTests {
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
        let fake = try await FakeBotAPI.start()
        defer {
            box.remove()
            Task { await fake.stop() }
        }
        let environment = TelegramTests.environment(box, fake)
        let serve = try Child.start(
            ["serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"], environment: environment, in: box)
        defer { serve.kill() }

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
