import DeviceGateKit
import DeviceGateTelegram
import Foundation

/// The `result` array of a `getUpdates` answer, decoded update by update as the bot does, and
/// each message's text through the command parser.
enum TelegramTarget {
    static func run(_ data: Data) {
        guard let batch = try? UpdateBatch(resultJSON: data) else { return }
        _ = batch.highestID
        for update in batch.updates {
            guard let text = update.message?.text else { continue }
            _ = BotCommand.parse(text, botUsername: "devicegate_test_bot")
        }
    }
}

/// The audit log as `devicegate audit verify` and the gateway's next append find it: any
/// lines, and (after a `\u{1E}`) any `.head` file.
enum AuditTarget {
    static let path = FuzzFixtures.directory + "/audit.jsonl"
    static let log = AuditLog(path: path, storeKey: FuzzFixtures.store.key)

    static func run(_ data: Data) {
        let split = data.firstIndex(of: 0x1E)
        let lines = split.map { data[..<$0] } ?? data[...]
        let head = split.map { data[data.index(after: $0)...] }
        _ = FileManager.default.createFile(atPath: path, contents: Data(lines), attributes: [.posixPermissions: 0o600])
        if let head {
            _ = FileManager.default.createFile(atPath: path + ".head", contents: Data(head), attributes: [.posixPermissions: 0o600])
        } else {
            try? FileManager.default.removeItem(atPath: path + ".head")
        }
        _ = try? AuditLog.verify(path: path, storeKey: FuzzFixtures.store.key)
        _ = try? AuditLog.read(path: path, since: FuzzFixtures.now, profile: "work")
        // An append resynchronises with what is on disk (reads the last line, checks .head).
        _ = runBlocking { try? await log.record("fuzz", ["profile": .string("work")]) }
    }
}
