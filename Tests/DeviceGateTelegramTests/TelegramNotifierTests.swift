import DeviceGateKit
import DeviceGateTelegram
import DeviceGateTestSupport
import Foundation
import Testing

/// The Telegram notifier against the Bot API double: texts, escaping, edits, flood control.
@Suite struct TelegramNotifierTests {
    static func code(
        profile: String = "work", provider: String = "Glewlwyd", scopes: [String] = ["openid", "mail.read"],
        complete: String? = "https://idp.example/device?user_code=WXYZ-2345", message: String? = nil, now: Date
    ) -> SignInEvent.CodeIssued {
        SignInEvent.CodeIssued(
            profile: profile, provider: provider, scopes: scopes, userCode: "WXYZ-2345", verificationURI: "https://idp.example/device",
            verificationURIComplete: complete, expiresAt: now.addingTimeInterval(600), expiresIn: 600, interval: 5, message: message)
    }

    @Test func theCodeMessageSaysWhoWhatWhereAndUntilWhen() async throws {
        let chat = try await Chat.start()
        defer { Task { await chat.finish() } }
        try await chat.notifier().notify(.codeIssued(Self.code(now: chat.time.now())))

        let message = try #require(chat.fake.messages.first)
        #expect(message.chatID == Chat.id)
        #expect(message.text.hasPrefix("🔐 Auth Required"))
        #expect(message.text.contains("Profile work asks to sign in to Glewlwyd."))
        #expect(message.text.contains("Scopes: openid mail.read"))
        #expect(message.text.contains("1. Open https://idp.example/device"))
        #expect(message.text.contains("2. Enter the code WXYZ-2345"))
        #expect(message.html.contains("<code>WXYZ-2345</code>"), "the code is a code span: one tap copies it")
        #expect(message.text.contains("The code expires in 10 min (at "))
        #expect(message.buttons == [.init(text: "Open sign-in page", url: "https://idp.example/device?user_code=WXYZ-2345")])
    }

    @Test func withoutACompleteURITheButtonOpensThePlainLink() async throws {
        let chat = try await Chat.start()
        defer { Task { await chat.finish() } }
        try await chat.notifier().notify(.codeIssued(Self.code(complete: nil, now: chat.time.now())))
        let message = try #require(chat.fake.messages.first)
        #expect(message.buttons.map(\.url) == ["https://idp.example/device"])
        #expect(!message.text.contains("filled in"))
    }

    @Test func hostileNamesEmailsScopesAndProviderMessagesAreShownVerbatim() async throws {
        let chat = try await Chat.start()
        defer { Task { await chat.finish() } }
        let notifier = chat.notifier()
        let hostile = Hostile.characters
        try await notifier.notify(
            .codeIssued(
                Self.code(
                    profile: "work", provider: "Corp \(hostile)", scopes: ["openid", hostile], message: "Use \(hostile) & sign in",
                    now: chat.time.now())))
        try await notifier.notify(
            .signedIn(
                .init(
                    profile: "work", identity: Identity(name: Hostile.name, email: Hostile.email, source: "id_token"), scopes: [],
                    expiresAt: nil)))

        #expect(chat.fake.snapshot.refusals.isEmpty, "Telegram would refuse: \(chat.fake.snapshot.refusals)")
        let messages = chat.fake.messages
        #expect(messages.count == 2)
        let code = try #require(messages.first)
        #expect(code.history.first?.contains("to Corp \(hostile).") == true)
        #expect(code.history.first?.contains("Scopes: openid \(hostile)") == true)
        #expect(code.history.first?.contains("Use \(hostile) & sign in") == true)
        #expect(code.text.contains("signed in as \(Hostile.name) (\(Hostile.email))"))
        #expect(messages[1].text == "Signed in as \(Hostile.name) (\(Hostile.email))")
    }

    @Test func theStrictDoubleRefusesUnescapedMarkup() async throws {
        // The escaping test above can only fail if the double would refuse what Telegram refuses.
        let chat = try await Chat.start()
        defer { Task { await chat.finish() } }
        await #expect(throws: TelegramError.self) {
            _ = try await chat.api().sendMessage(chatID: Chat.id, html: "Signed in as \(Hostile.name)")
        }
        let refusal = try #require(chat.fake.snapshot.refusals.first)
        #expect(refusal.hasPrefix("Bad Request: can't parse entities"))
    }

    @Test func afterSuccessTheCodeMessageIsEditedAndAConfirmationSent() async throws {
        let chat = try await Chat.start()
        defer { Task { await chat.finish() } }
        let notifier = chat.notifier()
        try await notifier.notify(.codeIssued(Self.code(now: chat.time.now())))
        try await notifier.notify(
            .signedIn(
                .init(
                    profile: "work", identity: Identity(name: "Alice Example", email: "alice@example.test", source: "id_token"),
                    scopes: ["openid"], expiresAt: nil)))

        let messages = chat.fake.messages
        #expect(messages.count == 2)
        let code = messages[0]
        #expect(code.edited)
        #expect(code.text == "✅ Profile work: signed in as Alice Example (alice@example.test). This code is used up.")
        #expect(!code.text.contains("WXYZ-2345"), "no stale code lingers")
        #expect(code.buttons.isEmpty, "the sign-in button is gone")
        #expect(messages[1].text == "Signed in as Alice Example (alice@example.test)")
    }

    @Test(arguments: [
        (
            SignInEvent.declined(profile: "work", message: "The user said no"),
            "❌ Profile work: the sign-in was declined (The user said no)",
            "Auth failed: declined (The user said no)"
        ),
        (
            SignInEvent.expired(profile: "work"), "⌛ Profile work: the code expired before it was approved",
            "Auth failed: the code expired before it was approved"
        ),
        (
            SignInEvent.failed(profile: "work", message: "cancelled"), "❌ Profile work: the sign-in stopped: cancelled",
            "Auth failed: cancelled"
        ),
    ])
    func everyEndingReplacesTheCode(_ ending: SignInEvent, _ edited: String, _ confirmation: String) async throws {
        let chat = try await Chat.start()
        defer { Task { await chat.finish() } }
        let notifier = chat.notifier()
        try await notifier.notify(.codeIssued(Self.code(now: chat.time.now())))
        try await notifier.notify(ending)
        let messages = chat.fake.messages
        #expect(messages.count == 2)
        #expect(messages[0].text.hasPrefix(edited))
        #expect(!messages[0].text.contains("WXYZ-2345"))
        #expect(messages[1].text == confirmation)
    }

    @Test func alreadySignedInSendsOnlyTheSeedsAnswer() async throws {
        let chat = try await Chat.start()
        defer { Task { await chat.finish() } }
        try await chat.notifier().notify(
            .alreadySignedIn(profile: "work", identity: Identity(name: "Alice Example", source: "id_token"), expiresAt: nil))
        #expect(chat.texts() == ["Already authenticated.\nProfile work, signed in as Alice Example."])
    }

    @Test func warningsStayOutOfTheChat() async throws {
        let chat = try await Chat.start()
        defer { Task { await chat.finish() } }
        try await chat.notifier().notify(.warning(profile: "work", message: "slow_down"))
        #expect(chat.fake.messages.isEmpty)
    }

    @Test func floodControlIsWaitedOutThenTheMessageGoesThrough() async throws {
        let chat = try await Chat.start()
        defer { Task { await chat.finish() } }
        chat.fake.script(
            "sendMessage",
            [
                FakeBotAPI.error(429, "Too Many Requests: retry after 7", retryAfter: 7),
                FakeBotAPI.error(429, "Too Many Requests: retry after 3"),  // seen without `parameters`
            ])
        try await chat.notifier().notify(.codeIssued(Self.code(now: chat.time.now())))
        #expect(chat.time.sleeps == [7, 3])
        #expect(chat.fake.messages.count == 1)
    }

    @Test func outagesAndDroppedConnectionsAreRetriedWithBackoff() async throws {
        let chat = try await Chat.start()
        defer { Task { await chat.finish() } }
        chat.fake.script("sendMessage", [.dropped, FakeBotAPI.error(502, "Bad Gateway"), .html(503)])
        try await chat.notifier().notify(.codeIssued(Self.code(now: chat.time.now())))
        #expect(chat.time.sleeps == [1, 2, 4])
        #expect(chat.fake.messages.count == 1)
    }

    @Test func retriesAreBounded() async throws {
        let chat = try await Chat.start()
        defer { Task { await chat.finish() } }
        chat.fake.script("sendMessage", Array(repeating: FakeBotAPI.error(500, "Internal Server Error"), count: 10))
        let error = await #expect(throws: TelegramError.self) {
            try await chat.notifier().notify(.codeIssued(Self.code(now: chat.time.now())))
        }
        #expect(error?.kind == .serverError)
        #expect(chat.time.sleeps.count == 4)
    }

    @Test func aRefusedTokenNamesTheVariableAndNeverTheToken() async throws {
        let chat = try await Chat.start()
        defer { Task { await chat.finish() } }
        let wrong = "111:WRONG-TOKEN-SECRET"
        let api = chat.api(token: wrong)
        let error = try #require(await #expect(throws: TelegramError.self) { _ = try await api.getMe() })
        #expect(error.kind == .unauthorized)
        #expect(error.description.contains("TELEGRAM_BOT_TOKEN"))
        #expect(error.description.contains("@BotFather"))
        #expect(chat.time.sleeps.isEmpty, "a refused token is not retried")

        // Through the fanout the sign-in goes on and the reason is reported.
        let failures = Lines()
        let fanout = NotifierFanout(
            [TelegramNotifier(api: api, chatIDs: [Chat.id], time: chat.time)], reportFailure: { failures.append($0) })
        await fanout.send(.codeIssued(Self.code(now: chat.time.now())))
        #expect(failures.text.contains("the telegram notifier failed: Telegram refused the bot token"))
        #expect(failures.text.contains("check TELEGRAM_BOT_TOKEN"))
        for text in [error.description, String(reflecting: error), failures.text] {
            #expect(!text.contains(wrong))
            #expect(!text.contains("WRONG-TOKEN"))
        }
    }

    @Test func aTokenFromAFileIsNamedAsTheFile() async throws {
        let chat = try await Chat.start()
        defer { Task { await chat.finish() } }
        let path = chat.dir.write("bot-token", "111:WRONG\n")
        let settings = TelegramSettings(tokenSource: .file(path), chatIDs: [Chat.id], apiBase: chat.fake.apiBase)
        let api = try BotAPI(settings: settings, transport: AsyncHTTPTransport.shared, time: chat.time)
        let error = await #expect(throws: TelegramError.self) { _ = try await api.getMe() }
        #expect(error?.description.contains("check the token file \(path)") == true)
    }

    @Test func aNetworkErrorNeverShowsTheURL() async throws {
        // The connection drops: the error must name the method, not /bot<token>/sendMessage.
        let dropping = try await LoopbackServer.start { _ in .dropped }
        defer { Task { await dropping.stop() } }
        let api = BotAPI(
            token: Secret(FakeBotAPI.token), base: dropping.baseURL, transport: AsyncHTTPTransport.shared,
            time: ManualTime(), retry: .once)
        let error = await #expect(throws: TelegramError.self) { _ = try await api.sendMessage(chatID: 1, html: "hi") }
        #expect(error?.kind == .network)
        #expect(error?.description.hasPrefix("could not reach Telegram for sendMessage") == true)
        #expect(leakedSecrets(in: String(describing: error)).isEmpty)
    }

    @Test func anIdenticalEditCountsAsDone() async throws {
        let chat = try await Chat.start()
        defer { Task { await chat.finish() } }
        let api = chat.api()
        let message = try await api.sendMessage(chatID: Chat.id, html: "<b>one</b>")
        try await api.editMessageText(chatID: Chat.id, messageID: message.messageID, html: "two")
        try await api.editMessageText(chatID: Chat.id, messageID: message.messageID, html: "two")  // "message is not modified"
        #expect(chat.fake.messages.first?.history == ["one"])
        // Any other refusal still fails.
        await #expect(throws: TelegramError.self) { try await api.editMessageText(chatID: Chat.id, messageID: 999, html: "three") }
    }

    @Test func aButtonURLTelegramRefusesFallsBackToTheLinkInTheText() async throws {
        let chat = try await Chat.start()
        defer { Task { await chat.finish() } }
        chat.fake.update { $0.rejectLoopbackButtons = true }
        var code = Self.code(complete: nil, now: chat.time.now())
        code.verificationURI = "http://127.0.0.1:8080/device"
        try await chat.notifier().notify(.codeIssued(code))
        let message = try #require(chat.fake.messages.first)
        #expect(message.buttons.isEmpty)
        #expect(message.text.contains("1. Open http://127.0.0.1:8080/device"))
    }

    @Test func everyConfiguredChatGetsTheCodeAndTheEdit() async throws {
        let chat = try await Chat.start()
        defer { Task { await chat.finish() } }
        let notifier = chat.notifier(chats: [Chat.id, -100_123])
        try await notifier.notify(.codeIssued(Self.code(now: chat.time.now())))
        try await notifier.notify(.expired(profile: "work"))
        for id in [Chat.id, Int64(-100_123)] {
            let texts = chat.texts(in: id)
            #expect(texts.count == 2)
            #expect(texts.first?.hasPrefix("⌛") == true)
        }
    }
}
