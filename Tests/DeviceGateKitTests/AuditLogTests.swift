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
}
