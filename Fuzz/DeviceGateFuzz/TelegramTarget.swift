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

/// The audit log as `devicegate audit verify` and a fresh writer find it: any lines, and
/// (after a `\u{1E}`) any `.head` file, also read as a witness head. The store directory's
/// sealed marker is removed before each input, so every input starts from the same state.
enum AuditTarget {
    static let path = FuzzFixtures.directory + "/audit.jsonl"

    static func run(_ data: Data) {
        let split = data.firstIndex(of: 0x1E)
        let lines = split.map { data[..<$0] } ?? data[...]
        let head = split.map { data[data.index(after: $0)...] }
        let store = FuzzFixtures.store
        for name in (try? FileManager.default.contentsOfDirectory(atPath: store.directory)) ?? [] where name.hasSuffix(".marker") {
            try? FileManager.default.removeItem(atPath: store.directory + "/" + name)
        }
        _ = FileManager.default.createFile(atPath: path, contents: Data(lines), attributes: [.posixPermissions: 0o600])
        if let head {
            _ = FileManager.default.createFile(atPath: path + ".head", contents: Data(head), attributes: [.posixPermissions: 0o600])
            _ = AuditHead(witness: String(decoding: head, as: UTF8.self))
        } else {
            try? FileManager.default.removeItem(atPath: path + ".head")
        }
        let witness = head.flatMap { AuditHead(witness: String(decoding: $0, as: UTF8.self)) }
        _ = try? AuditLog.verify(path: path, store: store, witness: witness)
        _ = try? AuditLog.read(path: path, since: FuzzFixtures.now, profile: "work")
        // A fresh writer anchors on what is on disk (the last line, the sealed head) before it
        // appends. Its descriptors are closed when it goes away (a leak this target found); the
        // first 4,000 inputs of a process get one, which bounds the time each input costs.
        guard writers.next() else { return }
        _ = runBlocking { try? await AuditLog(path: path, store: store).record("fuzz", ["profile": .string("work")]) }
    }

    static let writers = Budget(4_000)
}

/// Counts down from a limit, from any thread.
final class Budget: @unchecked Sendable {
    private let lock = NSLock()
    private var left: Int
    init(_ limit: Int) { left = limit }
    func next() -> Bool {
        lock.withLock {
            left -= 1
            return left >= 0
        }
    }
}
