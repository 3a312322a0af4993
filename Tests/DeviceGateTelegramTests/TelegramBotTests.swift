import DeviceGateKit
import DeviceGateTelegram
import DeviceGateTestSupport
import Foundation
import Testing

/// `devicegate bot` against the Bot API double and a fake identity provider.
@Suite struct TelegramBotTests {
    @Test func authSignsInFromTheChatAndNothingSecretReachesIt() async throws {
        let chat = try await Chat.start()
        let idp = try await FakeIdentityProvider.start()
        defer {
            Task {
                await chat.finish(); await idp.stop()
            }
        }
        idp.approve()  // the person approves as soon as the code is out
        let bot = RunningBot(try chat.bot(profiles: [idp.profile()]))

        chat.fake.receive("/auth work", chatID: Chat.id)
        try await chat.fake.wait(for: "the confirmation") { $0.messages.contains { $0.text.hasPrefix("Signed in as") } }
        let code = try #require(chat.fake.messages.first)
        #expect(code.history.first?.contains("2. Enter the code WXYZ-2345") == true)
        #expect(code.text.contains("signed in as Alice O'Example (alice@example.test)"))
        #expect(chat.texts().last == "Signed in as Alice O'Example (alice@example.test)")

        chat.fake.receive("/auth", chatID: Chat.id)  // the only profile; already signed in
        chat.fake.receive("/status", chatID: Chat.id)
        chat.fake.receive("/token work", chatID: Chat.id)
        chat.fake.receive("/profiles", chatID: Chat.id)
        try await chat.fake.wait(for: "four answers") { $0.messages.count >= 6 }
        // /auth answers from its own task, so the order of the answers may vary.
        let answers = Array(chat.texts().suffix(4))
        #expect(answers.contains { $0.hasPrefix("Already authenticated.") })
        let status = try #require(answers.first { $0.hasPrefix("work (oidc): ") })
        #expect(status.hasPrefix("work (oidc): ✅ signed in as Alice O'Example (alice@example.test)"))
        #expect(status.contains("token valid for 1 h 0 min · refresh token held"))
        #expect(answers.contains { $0.hasPrefix("I never send tokens into a chat") })
        #expect(answers.contains("Profiles:\n• work — oidc, signed in as Alice O'Example (alice@example.test)"))
        try await bot.stop()
        #expect(chat.fake.messages.count == 6, "no second sign-in")

        #expect(chat.log.text.contains("devicegate bot: @devicegate_test_bot is listening to chat 4242"))
        #expect(chat.log.text.contains("devicegate bot: work: signed in as Alice O'Example"))
        #expect(leakedSecrets(in: chat.everythingShown).isEmpty, "leaked: \(leakedSecrets(in: chat.everythingShown))")
    }

    @Test func strangersAreIgnoredAndRecorded() async throws {
        let chat = try await Chat.start()
        defer { Task { await chat.finish() } }
        let bot = RunningBot(try chat.bot(allowedUsers: [7]))
        chat.fake.receive("/auth", chatID: Chat.stranger)  // another chat
        chat.fake.receive("/help", chatID: Chat.id, userID: 8)  // the right chat, not a listed person
        chat.fake.receive("/help", chatID: Chat.id, userID: 7)
        try await chat.fake.wait(for: "the answer to the listed person") { !$0.messages.isEmpty }
        try await chat.fake.wait(for: "all updates confirmed") { $0.pending.isEmpty }
        try await bot.stop()

        #expect(chat.fake.messages.count == 1)
        #expect(chat.texts(in: Chat.stranger).isEmpty)
        #expect(chat.texts().first?.contains("/auth [profile] — sign in") == true)
        #expect(chat.log.text.contains("ignored update 500 from chat 999 (user 999 @alice): not an allowed chat"))
        #expect(chat.log.text.contains("ignored update 501 in chat 4242 from user 8 @alice: not an allowed person"))
    }

    @Test func theOffsetSurvivesARestart() async throws {
        let chat = try await Chat.start()
        defer { Task { await chat.finish() } }
        chat.fake.receive("/help", chatID: Chat.id)
        let first = RunningBot(try chat.bot())
        try await chat.fake.wait(for: "the help text") { $0.messages.count == 1 }
        try await first.stop()

        // A bot stopped right after handling /help has not told Telegram yet (only the next
        // getUpdates does): Telegram still holds it. And /profiles is sent while it is down.
        chat.fake.redeliver(500)
        chat.fake.receive("/profiles", chatID: Chat.id)
        let before = chat.fake.snapshot.getUpdatesOffsets.count
        let second = RunningBot(try chat.bot())
        try await chat.fake.wait(for: "the profiles answer") { $0.messages.count == 2 }
        try await chat.fake.wait(for: "all updates confirmed") { $0.pending.isEmpty }
        try await second.stop()

        #expect(chat.texts().filter { $0.contains("/auth [profile]") }.count == 1, "/help was not replayed")
        #expect(chat.texts().last?.hasPrefix("No profiles are configured yet") == true, "/profiles was not lost")
        let offsets = chat.fake.snapshot.getUpdatesOffsets
        #expect(offsets.first == .some(nil), "a first start takes what Telegram holds")
        #expect(offsets[before] == 501, "the restart resumed after /help")
    }

    @Test func oneSignInPerProfileAtATime() async throws {
        let chat = try await Chat.start()
        let idp = try await FakeIdentityProvider.start()  // never approved: the code runs out
        defer {
            Task {
                await chat.finish(); await idp.stop()
            }
        }
        chat.fake.receive("/auth work", chatID: Chat.id)
        chat.fake.receive("/auth work", chatID: Chat.id)
        let bot = RunningBot(try chat.bot(profiles: [idp.profile()]))
        try await chat.fake.wait(for: "the expiry") { $0.messages.contains { $0.text.hasPrefix("Auth failed") } }

        #expect(idp.server.requests(to: "/device").count == 1, "one sign-in started")
        #expect(chat.texts().contains("A sign-in for work is already in progress: use the code I sent, or wait until it ends."))
        #expect(chat.texts().contains { $0.hasPrefix("⌛ Profile work: the code expired") })

        // Once it has ended, a new one may start.
        chat.fake.receive("/auth work", chatID: Chat.id)
        try await chat.fake.wait(for: "a second code") { $0.messages.filter { $0.text.contains("Auth Required") }.count == 1 }
        try await bot.stop()
        #expect(idp.server.requests(to: "/device").count == 2)
    }

    @Test func stoppingTheBotEndsRunningSignInsAndEditsTheirCode() async throws {
        let chat = try await Chat.start()
        let idp = try await FakeIdentityProvider.start()
        defer {
            Task {
                await chat.finish(); await idp.stop()
            }
        }
        // Real time, so the sign-in is still waiting for approval when the bot stops.
        let bot = RunningBot(try chat.bot(profiles: [idp.profile()], time: SystemTimeSource()))
        chat.fake.receive("/auth", chatID: Chat.id)
        try await chat.fake.wait(for: "the code") { $0.messages.contains { $0.text.contains("Auth Required") } }
        try await bot.stop()

        let code = try #require(chat.fake.messages.first)
        #expect(code.text == "❌ Profile work: the sign-in stopped: cancelled. This code is no longer valid.", "\(chat.log.text)")
        #expect(chat.texts().last == "Auth failed: cancelled")
        #expect(chat.log.text.hasSuffix("devicegate bot: stopped"))
    }

    @Test func aConflictIsSaidPlainlyAndPollingResumesWhenItEnds() async throws {
        let chat = try await Chat.start()
        defer { Task { await chat.finish() } }
        let conflict = FakeBotAPI.error(
            409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running")
        chat.fake.script("getUpdates", [conflict, conflict, conflict])
        chat.fake.receive("/help", chatID: Chat.id)
        let bot = RunningBot(try chat.bot())
        try await chat.fake.wait(for: "the help text") { !$0.messages.isEmpty }
        try await bot.stop()

        let said = chat.log.all.filter { $0.contains("409") }
        #expect(said.count == 1, "said once, not on every retry")
        #expect(said.first?.contains("another program is reading this bot's updates") == true)
        #expect(said.first?.contains("only one poller per bot token can run") == true)
        #expect(chat.log.text.contains("the other poller is gone"))
        #expect(chat.time.sleeps == [5, 10, 20])
    }

    @Test func aWebhookConflictSaysWhatToRemove() async throws {
        let chat = try await Chat.start()
        defer { Task { await chat.finish() } }
        chat.fake.script(
            "getUpdates",
            [
                FakeBotAPI.error(
                    409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")
            ])
        let bot = RunningBot(try chat.bot())
        try await chat.fake.wait(for: "a second poll") { $0.getUpdatesOffsets.count >= 2 }
        try await bot.stop()
        #expect(chat.log.text.contains("a webhook is set for this bot. Remove it (the Bot API's deleteWebhook)"))
    }

    @Test func outagesAndFloodControlAreWaitedOut() async throws {
        let chat = try await Chat.start()
        defer { Task { await chat.finish() } }
        chat.fake.script("getMe", [.dropped])
        chat.fake.script(
            "getUpdates",
            [FakeBotAPI.error(502, "Bad Gateway"), .dropped, FakeBotAPI.error(429, "Too Many Requests: retry after 9", retryAfter: 9)])
        chat.fake.receive("/help", chatID: Chat.id)
        let bot = RunningBot(try chat.bot())
        try await chat.fake.wait(for: "the help text") { !$0.messages.isEmpty }
        try await bot.stop()
        #expect(chat.time.sleeps == [1, 1, 2, 9])
        #expect(chat.log.text.contains("Telegram answers again"))
    }

    @Test func aRefusedTokenStopsTheBotWithAClearError() async throws {
        let chat = try await Chat.start()
        defer { Task { await chat.finish() } }
        let bot = try chat.bot(token: "1:NOT-THE-TOKEN")
        let error = await #expect(throws: TelegramError.self) { try await bot.run() }
        #expect(error?.kind == .unauthorized)
        #expect(error?.description.contains("check TELEGRAM_BOT_TOKEN") == true)
    }

    @Test func commandsForAnotherBotAreNotOurs() async throws {
        let chat = try await Chat.start()
        defer { Task { await chat.finish() } }
        let bot = RunningBot(try chat.bot(chats: [-100_777]))
        chat.fake.receive("/help@some_other_bot", chatID: -100_777)
        chat.fake.receive("hello there", chatID: -100_777)
        chat.fake.receive("/HELP@DeviceGate_Test_Bot", chatID: -100_777)
        chat.fake.receive("/frobnicate <b>&", chatID: -100_777)
        try await chat.fake.wait(for: "two answers") { $0.messages.count == 2 }
        try await chat.fake.wait(for: "all updates confirmed") { $0.pending.isEmpty }
        try await bot.stop()
        let texts = chat.texts(in: -100_777)
        #expect(texts.count == 2)
        #expect(texts.first?.contains("/status [profile]") == true)
        #expect(texts.last == "Unknown command /frobnicate. Send /help for the list.")
    }

    @Test func logoutRevokesAndSaysWhat() async throws {
        let chat = try await Chat.start()
        let idp = try await FakeIdentityProvider.start()
        defer {
            Task {
                await chat.finish(); await idp.stop()
            }
        }
        idp.approve()
        let bot = RunningBot(try chat.bot(profiles: [idp.profile()]))
        chat.fake.receive("/auth", chatID: Chat.id)
        try await chat.fake.wait(for: "the sign-in") { $0.messages.contains { $0.text.hasPrefix("Signed in as") } }
        chat.fake.receive("/logout", chatID: Chat.id)
        try await chat.fake.wait(for: "the logout") { $0.messages.contains { $0.text.hasPrefix("Signed out of work") } }
        chat.fake.receive("/status work", chatID: Chat.id)
        try await chat.fake.wait(for: "the status") { $0.messages.last?.text.hasPrefix("work (oidc)") == true }
        try await bot.stop()
        #expect(chat.texts().contains { $0.contains("✓ refresh token: revoked") })
        #expect(chat.texts().last == "work (oidc): ❌ not signed in — send /auth work")
        #expect(idp.server.requests(to: "/revoke").count >= 1)
        #expect(leakedSecrets(in: chat.everythingShown).isEmpty)
        // Both acts are recorded with the chat and the person, before the bot answered.
        let records = try AuditLog.read(path: chat.auditPath)
        for event in ["signed_in", "logout"] {
            let record = try #require(records.first { $0["event"] as? String == event }, "\(event) is recorded")
            #expect(record["by"] as? String == "telegram")
            #expect(record["chat"] as? Int == Int(Chat.id))
            #expect(record["telegram_user"] as? Int == Int(Chat.id))
            #expect(record["profile"] as? String == "work")
        }
        #expect(try AuditLog.verify(path: chat.auditPath, store: TokenStore(directory: chat.dir.file("data"), keyFile: nil)).isIntact)
    }

    @Test func anUnknownProfileIsExplained() async throws {
        let chat = try await Chat.start()
        let idp = try await FakeIdentityProvider.start()
        defer {
            Task {
                await chat.finish(); await idp.stop()
            }
        }
        let bot = RunningBot(try chat.bot(profiles: [idp.profile()]))
        chat.fake.receive("/auth <nope>", chatID: Chat.id)
        try await chat.fake.wait(for: "the answer") { !$0.messages.isEmpty }
        try await bot.stop()
        #expect(chat.texts() == ["Auth failed: there is no profile \"<nope>\"; known profiles: work"])
    }

    @Test(arguments: [
        ("/auth", BotCommand(name: "auth")),
        ("/auth work", BotCommand(name: "auth", arguments: ["work"])),
        ("/Auth@DeviceGate_Test_Bot  work  extra", BotCommand(name: "auth", arguments: ["work", "extra"])),
        ("/auth@other_bot work", nil),
        ("auth", nil),
        ("/", nil),
        ("/ auth", nil),
        ("/a-b", nil),
    ])
    func commandParsing(_ text: String, _ expected: BotCommand?) {
        #expect(BotCommand.parse(text, botUsername: FakeBotAPI.username) == expected)
    }
}

extension TelegramBotTests {
    @Test func aServiceIdentityHasNothingToSignInTo() async throws {
        let chat = try await Chat.start()
        let idp = try await FakeIdentityProvider.start()
        defer {
            Task {
                await chat.finish(); await idp.stop()
            }
        }
        var profile = idp.profile("robot")
        profile.grant = .clientCredentials
        let bot = RunningBot(try chat.bot(profiles: [profile]))
        chat.fake.receive("/auth robot", chatID: Chat.id)
        try await chat.fake.wait(for: "the answer") { !$0.messages.isEmpty }
        try await bot.stop()
        #expect(
            chat.texts() == [
                "Profile robot uses client_credentials: it gets its tokens without a person, so there is nothing to sign in to."
            ])
        #expect(idp.server.requests(to: "/device").isEmpty)
    }
}
