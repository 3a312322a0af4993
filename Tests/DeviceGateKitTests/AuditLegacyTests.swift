import DeviceGateTestSupport
import Foundation
import Testing

@testable import DeviceGateKit

/// Logs written before heads were sealed: adopted once, then sealed. (`@testable` to write such
/// a log with the real key, as the older version did.)
@Suite struct AuditLegacyTests {
    @Test func anOlderUnsealedLogIsAdoptedOnceThenSealed() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try TokenStore(directory: dir.path, keyFile: nil)
        let path = dir.file("audit.jsonl")
        let key = AuditLine.key(store.key)
        var prev = AuditLine.genesis
        var text = ""
        for n in 0..<3 {
            let line = AuditLine.json(["event": .string("refresh"), "n": .int(n), "prev": .string(prev)])
            prev = AuditLine.mac(Data(line.utf8), key: key)
            text += line + "\n"
        }
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        try "3 \(prev)\n".write(toFile: path + ".head", atomically: false, encoding: .utf8)

        let older = try AuditLog.verify(path: path, store: store)
        #expect(older.isIntact)
        #expect(!older.notes.isEmpty, "verify says the head is not sealed")
        try await AuditLog(path: path, store: store).record("request", ["n": .int(3)])
        let sealed = try AuditLog.verify(path: path, store: store)
        #expect(sealed.isIntact && sealed.notes.isEmpty && sealed.lines == 4, "\(String(describing: sealed.problem))")
        #expect(try AuditLog.read(path: path)[3]["log"] as? String == "sealed")
    }
}
