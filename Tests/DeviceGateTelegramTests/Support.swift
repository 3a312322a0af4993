import DeviceGateKit
import DeviceGateTelegram
import DeviceGateTestSupport
import Foundation
import NIOConcurrencyHelpers

/// Collects log lines (the bot's stderr, a fanout's failure reports).
final class Lines: Sendable {
    private let box = NIOLockedValueBox<[String]>([])
    func append(_ line: String) { box.withLockedValue { $0.append(line) } }
    var all: [String] { box.withLockedValue { $0 } }
    var text: String { all.joined(separator: "\n") }
}

/// A Bot API double, a chat id, a private data dir and manual time, for one test.
struct Chat {
    static let id: Int64 = 4242
    static let stranger: Int64 = 999
    let fake: FakeBotAPI
    let dir = TemporaryDirectory("devicegate-telegram")
    let time = ManualTime()
    let log = Lines()

    static func start() async throws -> Chat { Chat(fake: try await FakeBotAPI.start()) }

    func api(token: String = FakeBotAPI.token, retry: BotAPI.RetryPolicy = .init()) -> BotAPI {
        BotAPI(token: Secret(token), base: fake.apiBase, transport: AsyncHTTPTransport.shared, time: time, retry: retry)
    }

    func notifier(chats: [Int64] = [Chat.id]) -> TelegramNotifier {
        TelegramNotifier(api: api(), chatIDs: chats, time: time)
    }

    func bot(
        profiles: [Profile] = [], chats: [Int64] = [Chat.id], allowedUsers: [Int64] = [], token: String = FakeBotAPI.token,
        time: (any TimeSource)? = nil
    ) throws -> TelegramBot {
        let time = time ?? self.time
        var config = DeviceGateConfig()
        for profile in profiles { config.profiles[profile.name] = profile }
        let log = self.log
        let store = try TokenStore(directory: dir.file("data"), keyFile: nil)
        return TelegramBot(
            api: BotAPI(token: Secret(token), base: fake.apiBase, transport: AsyncHTTPTransport.shared, time: time), chatIDs: chats,
            allowedUserIDs: allowedUsers, config: config, store: store, audit: AuditLog(path: auditPath, store: store),
            transport: AsyncHTTPTransport.shared, time: time, offsetFile: UpdateOffsetFile(path: dir.file("data/telegram-bot.json")),
            options: TelegramBot.Options(pollTimeout: 1, log: { log.append($0) }))
    }

    var auditPath: String { dir.file("data/audit.jsonl") }

    /// Messages sent to `chat`, as the person sees them.
    func texts(in chat: Int64 = Chat.id) -> [String] { fake.messages.filter { $0.chatID == chat }.map(\.text) }

    /// Everything any chat was ever shown (every version of every message) and every log line.
    var everythingShown: String {
        fake.messages.flatMap { $0.history + [$0.text, $0.html] + $0.buttons.compactMap(\.url) + $0.buttons.compactMap(\.callbackData) }
            .joined(separator: "\n") + "\n" + log.text
    }

    func finish() async {
        await fake.stop()
        dir.remove()
    }
}

/// Runs a bot until the test is done with it, then cancels it and waits for it to stop.
final class RunningBot: Sendable {
    let task: Task<Void, any Error>
    init(_ bot: TelegramBot) { task = Task { try await bot.run() } }

    func stop() async throws {
        task.cancel()
        do { try await task.value } catch is CancellationError {}
    }
}

enum Hostile {
    /// Every MarkdownV2 reserved character, HTML's three, and a fake tag.
    static let characters = "<b>_*[]()~`>#+-=|{}.!&amp;\\</b>"
    static let name = "Eve \(characters)"
    static let email = "eve+\(characters)@example.test"
}

/// The secrets a fake identity provider and the fake bot use, for leak checks.
func leakedSecrets(in text: String) -> [String] {
    let secrets =
        [FakeBotAPI.token, FakeIdentityProvider.deviceCode]
        + (1...4).flatMap { [FakeIdentityProvider.accessToken($0), FakeIdentityProvider.refreshToken($0)] }
    return secrets.filter(text.contains)
}
