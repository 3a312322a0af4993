import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

/// The real `devicegate` binary talking to the Bot API double (in this process) and to the real
/// Glewlwyd, with a script playing the person who reads the code in the chat and approves.
@Suite(.serialized) struct TelegramTests {
    static let chat: Int64 = 4242

    static func environment(_ box: Sandbox, _ fake: FakeBotAPI) -> [String: String] {
        var env = box.environment.filter { !$0.key.hasPrefix("TELEGRAM_") }
        env["TELEGRAM_BOT_TOKEN"] = FakeBotAPI.token
        env["TELEGRAM_CHAT_ID"] = String(chat)
        env["TELEGRAM_API_BASE"] = fake.apiBase.absoluteString
        return env
    }

    /// The code as the person reads it in the chat.
    static func userCode(_ state: FakeBotAPI.State) -> String? {
        for message in state.messages {
            let text = message.history.first ?? message.text
            guard let range = text.range(of: "2. Enter the code ") else { continue }
            return String(text[range.upperBound...].prefix { !$0.isWhitespace })
        }
        return nil
    }

    @Test func authInTheChatApproveAndTheMessageTurnsIntoSignedIn() async throws {
        let idp = try LocalIdP.load()
        let box = Sandbox(idp: idp)
        let fake = try await FakeBotAPI.start()
        defer {
            box.remove()
            Task { await fake.stop() }
        }
        let bot = try Child.start(["bot", "--poll-timeout", "2"], environment: Self.environment(box, fake), in: box)
        defer { bot.kill() }

        fake.receive("/auth work", chatID: 999)  // a stranger first: nothing happens
        fake.receive("/auth work", chatID: Self.chat)
        try await fake.wait(for: "the code message") { Self.userCode($0) != nil }
        let code = try #require(Self.userCode(fake.snapshot))
        let message = try #require(fake.messages.first)
        #expect(message.text.contains("Profile work asks to sign in to"))
        #expect(message.text.contains("Scopes: openid profile email mail.read"))
        #expect(message.buttons.first?.url?.hasPrefix(idp.issuer) == true)

        try await Blocking.run { try idp.approve(code) }
        try await fake.wait(for: "the edit") { $0.messages.first?.text.contains("signed in as") == true }
        #expect(fake.messages.first?.text == "✅ Profile work: signed in as Alice Example (alice@example.test). This code is used up.")
        try await fake.wait(for: "the confirmation") { $0.messages.count >= 2 }
        #expect(fake.messages[1].text == "Signed in as Alice Example (alice@example.test)")

        fake.receive("/status work", chatID: Self.chat)
        fake.receive("/token work", chatID: Self.chat)
        try await fake.wait(for: "two answers") { $0.messages.count >= 4 }
        #expect(fake.messages[2].text.hasPrefix("work (oidc): ✅ signed in as Alice Example (alice@example.test)"))
        #expect(fake.messages[3].text.hasPrefix("I never send tokens into a chat"))
        #expect(!fake.messages.contains { $0.chatID == 999 }, "a stranger's /auth does nothing")

        let status = try await bot.terminate()
        #expect(status == 0, "SIGTERM stops the bot cleanly")
        let stderr = bot.stderr
        #expect(stderr.contains("ignored update 500 from chat 999"))
        #expect(stderr.contains("devicegate bot: work: signed in as Alice Example"))
        #expect(stderr.hasSuffix("devicegate bot: stopped\n"))

        let entry = try #require(try box.store().load("work"))
        let secrets =
            [entry.tokens.accessToken, entry.tokens.refreshToken, entry.tokens.idToken].compactMap { $0?.reveal() } + [
                FakeBotAPI.token
            ]
        #expect(secrets.count == 4)
        let shown = fake.messages.flatMap { $0.history + [$0.text, $0.html] }.joined(separator: "\n") + bot.stdout + stderr
        for secret in secrets { #expect(!shown.contains(secret), "a secret reached the chat or the logs") }
    }

    @Test func loginNotifyTelegramIsTheSeedsBridgeInOneCommand() async throws {
        let idp = try LocalIdP.load()
        let box = Sandbox(idp: idp)
        let fake = try await FakeBotAPI.start()
        defer {
            box.remove()
            Task { await fake.stop() }
        }
        let env = Self.environment(box, fake)

        // Signed in: "Auth Required" with link and code, then "Signed in as NAME (EMAIL)", exit 0.
        let login = try Child.start(["login", "work", "--notify", "telegram"], environment: env, in: box)
        try await fake.wait(for: "the code message") { Self.userCode($0) != nil }
        #expect(fake.messages.first?.text.hasPrefix("🔐 Auth Required") == true)
        try await Blocking.run { try idp.approve(try #require(Self.userCode(fake.snapshot))) }
        #expect(try await login.exit() == 0, "login: \(login.stderr)")
        #expect(fake.messages.map(\.text).last == "Signed in as Alice Example (alice@example.test)")
        #expect(fake.messages.first?.text.contains("signed in as Alice Example") == true)

        // Already: "Already authenticated.", exit 0.
        let again = try Child.start(["login", "work", "--notify", "telegram"], environment: env, in: box)
        #expect(try await again.exit() == 0)
        #expect(fake.messages.last?.text.hasPrefix("Already authenticated.") == true)

        // Declined: "Auth failed: REASON", exit 2, and the code message no longer shows a code.
        let before = fake.messages.count
        let declined = try Child.start(["login", "work", "--notify", "telegram", "--force"], environment: env, in: box)
        try await fake.wait(for: "a new code message") { $0.messages.count > before }
        let second = try #require(fake.messages.last)
        let code = try #require(
            second.text.range(of: "2. Enter the code ").map { second.text[$0.upperBound...].prefix { !$0.isWhitespace } })
        try await Blocking.run {
            let result = try idp.script("deny", [String(code)])
            guard result.status == 0 else { throw Failure("deny failed: \(result.stderr)") }
        }
        #expect(try await declined.exit() == 2)
        #expect(fake.messages.last?.text.hasPrefix("Auth failed: declined") == true)
        #expect(fake.messages[before].text.hasPrefix("❌ Profile work: the sign-in was declined"))
        #expect(!fake.messages[before].text.contains(String(code)))
    }

    @Test func aWrongBotTokenIsAConfigErrorNamingTheVariable() async throws {
        let box = Sandbox(idp: try LocalIdP.load())
        let fake = try await FakeBotAPI.start()
        defer {
            box.remove()
            Task { await fake.stop() }
        }
        var env = Self.environment(box, fake)
        env["TELEGRAM_BOT_TOKEN"] = "1:WRONG-SECRET-TOKEN"
        let bot = try Child.start(["bot"], environment: env, in: box)
        #expect(try await bot.exit() == 78)
        #expect(bot.stderr.contains("Telegram refused the bot token (401 Unauthorized, in getMe): check TELEGRAM_BOT_TOKEN"))
        #expect(!bot.stderr.contains("WRONG-SECRET"))

        env["TELEGRAM_CHAT_ID"] = nil
        let noChat = try Child.start(["bot"], environment: env, in: box)
        #expect(try await noChat.exit() == 78)
        #expect(noChat.stderr.contains("no Telegram chat is configured: set TELEGRAM_CHAT_ID"))
    }

    @Test func aGroupChatWithoutAllowedUsersIsRefusedBeforeTheBotStarts() async throws {
        let box = Sandbox(idp: try LocalIdP.load())
        let fake = try await FakeBotAPI.start()
        defer {
            box.remove()
            Task { await fake.stop() }
        }
        var env = Self.environment(box, fake)
        env["TELEGRAM_CHAT_ID"] = "-1001234567890"
        let bot = try Child.start(["bot", "--poll-timeout", "2"], environment: env, in: box)
        defer { bot.kill() }
        #expect(try await bot.exit() == 78)
        #expect(bot.stderr.contains("configuration error: the bot refuses to take commands in the group chat -1001234567890"))
        #expect(bot.stderr.contains("allowed_user_ids") && bot.stderr.contains("allow_all_members = true"))
        #expect(fake.server.requests.isEmpty, "the bot contacted Telegram")
    }
}

/// Runs blocking work (the IdP scripts) off the cooperative pool, which serves the Bot API double.
enum Blocking {
    static func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
        }
    }
}

/// The `devicegate` binary as a child process, its output in files, its exit awaited.
final class Child: @unchecked Sendable {
    private let process = Process()
    private let outPath: String
    private let errPath: String
    private let exitStatus = AsyncStream<Int32>.makeStream()

    static func start(_ arguments: [String], environment: [String: String], in box: Sandbox) throws -> Child {
        let child = Child(box: box)
        try child.launch(arguments, environment: environment)
        return child
    }

    private init(box: Sandbox) {
        let name = UUID().uuidString.prefix(8)
        outPath = box.dir.file("child-\(name).out")
        errPath = box.dir.file("child-\(name).err")
    }

    private func launch(_ arguments: [String], environment: [String: String]) throws {
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        _ = FileManager.default.createFile(atPath: errPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: Sandbox.binary)
        process.arguments = arguments
        process.environment = environment
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        let continuation = exitStatus.continuation
        process.terminationHandler = { process in
            continuation.yield(process.terminationStatus)
            continuation.finish()
        }
        try process.run()
    }

    var stdout: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

    /// Waits for the exit; a child still running after `timeout` seconds is killed.
    func exit(timeout: Double = 120) async throws -> Int32 {
        let watchdog = Task { [process] in
            try await Task.sleep(nanoseconds: UInt64(timeout * 1_000_000_000))
            if process.isRunning { killHard(process.processIdentifier) }
        }
        defer { watchdog.cancel() }
        for await status in exitStatus.stream { return status }
        return process.terminationStatus
    }

    /// SIGTERM, then the exit status.
    func terminate() async throws -> Int32 {
        process.terminate()
        return try await exit()
    }

    func kill() {
        if process.isRunning { killHard(process.processIdentifier) }
    }
}

private func killHard(_ pid: Int32) {
    _ = Foundation.kill(pid, SIGKILL)
}
