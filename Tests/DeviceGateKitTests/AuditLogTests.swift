import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

@Suite struct AuditLogTests {
    @Test func severalWritersKeepOneChain() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try TokenStore(directory: dir.path, keyFile: nil)
        let path = dir.file("audit.jsonl")
        // Two logs on one file stand in for two processes (gateway and a CLI refresh).
        let a = AuditLog(path: path, storeKey: store.key)
        let b = AuditLog(path: path, storeKey: store.key)
        for i in 0..<10 {
            try await a.record("request", ["n": .int(i)])
            try await b.record("refresh", ["n": .int(i)])
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<20 {
                group.addTask { try await (i.isMultiple(of: 2) ? a : b).record("concurrent", ["n": .int(i)]) }
            }
            try await group.waitForAll()
        }
        let result = try AuditLog.verify(path: path, storeKey: store.key)
        #expect(result.lines == 40)
        #expect(result.isIntact, "\(String(describing: result.problem))")
    }

    @Test func anotherKeyCannotVouchForTheChain() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try TokenStore(directory: dir.file("one"), keyFile: nil)
        let other = try TokenStore(directory: dir.file("two"), keyFile: nil)
        let path = dir.file("audit.jsonl")
        let log = AuditLog(path: path, storeKey: store.key)
        for i in 0..<3 { try await log.record("request", ["n": .int(i)]) }
        #expect(try AuditLog.verify(path: path, storeKey: store.key).isIntact)
        #expect(try !AuditLog.verify(path: path, storeKey: other.key).isIntact)
    }

    @Test func hostileValuesRoundTripAsValidJSON() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try TokenStore(directory: dir.path, keyFile: nil)
        let path = dir.file("audit.jsonl")
        let hostile = "quote\" backslash\\ newline\n tab\t bell\u{07} del\u{7F} é ✓ </script>"
        try await AuditLog(path: path, storeKey: store.key).record(
            "denied", ["reason": .string(hostile), "n": .int(-3), "ms": .double(1.23456), "ok": .bool(false)])
        let record = try #require(try AuditLog.read(path: path).first)
        #expect(record["reason"] as? String == hostile)
        #expect(record["n"] as? Int == -3)
        #expect(record["ms"] as? Double == 1.235)
        #expect(record["ok"] as? Bool == false)
        #expect(record["event"] as? String == "denied")
        #expect(try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").count == 1, "one line, whatever the value holds")
        #expect(try AuditLog.verify(path: path, storeKey: store.key).isIntact)
    }
}
