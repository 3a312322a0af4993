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
        let a = AuditLog(path: path, store: store)
        let b = AuditLog(path: path, store: store)
        for i in 0..<10 {
            try await a.record("request", ["n": .int(i)])
            try await b.record("refresh", ["n": .int(i)], durable: true)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<20 {
                group.addTask { try await (i.isMultiple(of: 2) ? a : b).record("concurrent", ["n": .int(i)]) }
            }
            try await group.waitForAll()
        }
        let result = try AuditLog.verify(path: path, store: store)
        #expect(result.lines == 40)
        #expect(result.isIntact, "\(String(describing: result.problem))")
        #expect(try await a.head() == result.head)
    }

    @Test func anotherKeyCannotVouchForTheChain() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try TokenStore(directory: dir.file("one"), keyFile: nil)
        let other = try TokenStore(directory: dir.file("two"), keyFile: nil)
        let path = dir.file("audit.jsonl")
        let log = AuditLog(path: path, store: store)
        for i in 0..<3 { try await log.record("request", ["n": .int(i)]) }
        #expect(try AuditLog.verify(path: path, store: store).isIntact)
        #expect(try !AuditLog.verify(path: path, store: other).isIntact)
    }

    @Test func hostileValuesRoundTripAsValidJSON() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try TokenStore(directory: dir.path, keyFile: nil)
        let path = dir.file("audit.jsonl")
        let hostile = "quote\" backslash\\ newline\n tab\t bell\u{07} del\u{7F} é ✓ </script>"
        try await AuditLog(path: path, store: store).record(
            "denied", ["reason": .string(hostile), "n": .int(-3), "ms": .double(1.23456), "ok": .bool(false)])
        let records = try AuditLog.read(path: path)
        #expect(records.first?["log"] as? String == "created", "a new log says so in its first record")
        let record = try #require(records.last)
        #expect(record["reason"] as? String == hostile)
        #expect(record["n"] as? Int == -3)
        #expect(record["ms"] as? Double == 1.235)
        #expect(record["ok"] as? Bool == false)
        #expect(record["event"] as? String == "denied")
        #expect(try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").count == 1, "one line, whatever the value holds")
        #expect(try AuditLog.verify(path: path, store: store).isIntact)
    }

    @Test func aVeryLongRecordDoesNotLockTheNextWriterOut() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try TokenStore(directory: dir.path, keyFile: nil)
        let path = dir.file("audit.jsonl")
        // An agent controls how long a denied path is.
        try await AuditLog(path: path, store: store).record("denied", ["path": .string("/" + String(repeating: "a", count: 200_000))])
        try await AuditLog(path: path, store: store).record("refresh", [:])
        #expect(try AuditLog.verify(path: path, store: store).lines == 2)
    }

    // MARK: tampering while a writer runs (issue 9, item 9)

    @Test func aForgedAppendWhileTheWriterRunsStopsItAndIsNamed() async throws {
        let log = try await Fixture.start(records: 3)
        defer { log.dir.remove() }
        // No key needed: `prev` is just the head's MAC, copied from the head file.
        try log.append(
            #"{"event":"request","path":"/forged","prev":"\#(log.headMAC())","profile":"work","time":"2026-01-01T00:00:00.000Z"}"# + "\n")
        await #expect(throws: AuditLog.Failure.self) { try await log.writer.record("request", ["n": .int(4)]) }
        await #expect(throws: AuditLog.Failure.self, "stays failed") { try await log.writer.record("request", ["n": .int(5)]) }
        #expect(try await log.alerts.wait().count == 1, "told once")
        #expect(try await log.alerts.wait().first?.contains("audit verify") == true)
        #expect(try log.verify().problem?.line == 4)
    }

    @Test func everyCallerOfABatchLearnsThatTheWriterFailed() async throws {
        let log = try await Fixture.start(records: 2)
        defer { log.dir.remove() }
        try log.append(#"{"event":"forged"}"# + "\n")
        let failed = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<50 {
                group.addTask { (try? await log.writer.record("request", ["n": .int(i)])) == nil }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(failed == 50)
        #expect(try log.lines().count == 3, "nothing was written after the forged line")
        #expect(try await log.alerts.wait().count == 1)
    }

    @Test func anEditedLastRecordStopsTheWriter() async throws {
        let log = try await Fixture.start(records: 3)
        defer { log.dir.remove() }
        // Same length, in place: the size does not change.
        try log.overwrite(#""n":2"#, with: #""n":9"#)
        await #expect(throws: AuditLog.Failure.self) { try await log.writer.record("request", ["n": .int(3)]) }
        #expect(try await log.alerts.wait().count == 1)
        #expect(try log.verify().problem?.line == 3)
    }

    @Test func cuttingTheLastRecordsWhileTheWriterRunsStopsIt() async throws {
        let log = try await Fixture.start(records: 5)
        defer { log.dir.remove() }
        let lines = try log.lines()
        try log.truncate(keeping: 3)
        // The attacker also rewrites the head the old way, "<n> <prev of the first removed line>".
        try "3 \(try #require(Fixture.prev(of: lines[3])))\n".write(toFile: log.path + ".head", atomically: false, encoding: .utf8)
        await #expect(throws: AuditLog.Failure.self) { try await log.writer.record("request", ["n": .int(5)]) }
        #expect(try log.verify().problem != nil)
    }

    // MARK: offline (item 10)

    @Test func offlineTruncationWithARewrittenHeadFailsVerifyAndTheNextWriter() async throws {
        let log = try await Fixture.start(records: 5)
        defer { log.dir.remove() }
        let lines = try log.lines()
        try log.truncate(keeping: 3)
        let prev = try #require(Fixture.prev(of: lines[3]))
        try "3 \(prev)\n".write(toFile: log.path + ".head", atomically: false, encoding: .utf8)
        #expect(try log.verify().problem?.line == 3)
        // The sealed head copied from an earlier moment does not help either.
        let fresh = AuditLog(path: log.path, store: log.store)
        await #expect(throws: AuditLog.Failure.self) { try await fresh.record("refresh", [:]) }
    }

    @Test func cuttingOffTheEndWithAnOldSealedHeadFailsVerify() async throws {
        let log = try await Fixture.start(records: 3)
        defer { log.dir.remove() }
        let sealedAtThree = try String(contentsOfFile: log.path + ".head", encoding: .utf8)
        for i in 3..<5 { try await log.writer.record("request", ["n": .int(i)]) }
        try log.truncate(keeping: 3)
        try sealedAtThree.write(toFile: log.path + ".head", atomically: false, encoding: .utf8)
        // Consistent, and sealed: only a witness sent out earlier can tell (see the witness test).
        #expect(try log.verify().isIntact)
        // But a writer that wrote records 4 and 5 knows.
        await #expect(throws: AuditLog.Failure.self) { try await log.writer.record("request", ["n": .int(5)]) }
    }

    @Test func deletingTheLogAndItsHeadIsADeletionNotAFreshStart() async throws {
        let log = try await Fixture.start(records: 3)
        defer { log.dir.remove() }
        try FileManager.default.removeItem(atPath: log.path)
        try FileManager.default.removeItem(atPath: log.path + ".head")
        let result = try log.verify()
        #expect(result.problem?.reason.contains("deleted") == true)
        let fresh = AuditLog(path: log.path, store: log.store)
        await #expect(throws: AuditLog.Failure.self) { try await fresh.record("refresh", [:]) }
        #expect(try log.verify().problem != nil, "still a failure after a writer touched it")
    }

    @Test func blankLinesAreNotRecords() async throws {
        let log = try await Fixture.start(records: 3)
        defer { log.dir.remove() }
        let lines = try log.lines()
        let original = try String(contentsOfFile: log.path, encoding: .utf8)
        try (lines[0] + "\n\n" + lines[1...].joined(separator: "\n") + "\n").write(toFile: log.path, atomically: false, encoding: .utf8)
        let inside = try log.verify()
        #expect(inside.problem?.line == 2)
        #expect(inside.problem?.reason.contains("blank") == true)
        try (original + "\n").write(toFile: log.path, atomically: false, encoding: .utf8)
        #expect(try log.verify().problem?.line == 4)
        try original.write(toFile: log.path, atomically: false, encoding: .utf8)
        #expect(try log.verify().isIntact)
    }

    // MARK: the witness (item 11)

    @Test func aWitnessHeadCatchesARewriteBySomeoneWithTheKey() async throws {
        let log = try await Fixture.start(records: 3)
        defer { log.dir.remove() }
        let witness = try await log.writer.head()
        #expect(witness.count == 3)
        #expect(AuditHead(witness: witness.description) == witness)
        for i in 3..<6 { try await log.writer.record("request", ["n": .int(i)]) }
        #expect(try log.verify(witness: witness).isIntact, "later records do not matter")

        // With the key, history can be rebuilt consistently: rotate, then write new records.
        _ = try await AuditLog.rotate(path: log.path, store: log.store, by: ["by": .string("test")])
        for i in 0..<4 { try await AuditLog(path: log.path, store: log.store).record("request", ["n": .int(i)]) }
        #expect(try log.verify().isIntact)
        let caught = try log.verify(witness: witness)
        #expect(caught.problem?.line == 3)
        #expect(caught.problem?.reason.contains("witness") == true)

        // Cut below the witnessed count.
        let short = try await Fixture.start(records: 2)
        defer { short.dir.remove() }
        #expect(try short.verify(witness: witness).problem?.reason.contains("deleted") == true)
        #expect(AuditHead(witness: "3:xyz") == nil)
        #expect(AuditHead(witness: "-1:" + String(repeating: "a", count: 64)) == nil)
    }

    // MARK: migration and recovery

    @Test func aSealedLogCannotBePassedOffAsAnOlderUnsealedOne() async throws {
        let log = try await Fixture.start(records: 5)
        defer { log.dir.remove() }
        // Cut two records, delete the marker, and write the head in the old format.
        let lines = try log.lines()
        try log.truncate(keeping: 4)
        try "4 \(try #require(Fixture.prev(of: lines[4])))\n".write(toFile: log.path + ".head", atomically: false, encoding: .utf8)
        for marker in try FileManager.default.contentsOfDirectory(atPath: log.dir.path) where marker.hasSuffix(".marker") {
            try FileManager.default.removeItem(atPath: log.dir.file(marker))
        }
        let result = try log.verify()
        #expect(result.problem?.reason.contains("line 1 shows the log was sealed") == true, "\(String(describing: result.problem))")
        let fresh = AuditLog(path: log.path, store: log.store)
        await #expect(throws: AuditLog.Failure.self) { try await fresh.record("refresh", [:]) }
    }

    @Test func rotateKeepsTheDamagedLogAndStartsANewChain() async throws {
        let log = try await Fixture.start(records: 3)
        defer { log.dir.remove() }
        try log.overwrite(#""n":1"#, with: #""n":7"#)
        let rotation = try await AuditLog.rotate(path: log.path, store: log.store, by: ["by": .string("test")])
        let archived = try #require(rotation.archivedPath)
        #expect(rotation.previous.problem?.line == 3)
        #expect(try String(contentsOfFile: archived, encoding: .utf8).contains(#""n":7"#), "kept, not deleted")
        let first = try #require(try AuditLog.read(path: log.path).first { $0["event"] as? String == "log_rotated" })
        #expect(first["previous_intact"] as? Bool == false)
        #expect(try log.verify().isIntact)
    }
}

/// A log with a few records from a writer that keeps running, and ways to tamper with it.
private struct Fixture {
    let dir: TemporaryDirectory
    let store: TokenStore
    let path: String
    let writer: AuditLog
    let alerts: Alerts

    static func start(records: Int) async throws -> Fixture {
        let dir = TemporaryDirectory()
        let store = try TokenStore(directory: dir.path, keyFile: nil)
        let path = dir.file("audit.jsonl")
        let alerts = Alerts()
        let writer = AuditLog(path: path, store: store) { await alerts.add($0) }
        for i in 0..<records { try await writer.record("request", ["n": .int(i)]) }
        return Fixture(dir: dir, store: store, path: path, writer: writer, alerts: alerts)
    }

    func verify(witness: AuditHead? = nil) throws -> AuditLog.Verification {
        try AuditLog.verify(path: path, store: store, witness: witness)
    }

    func lines() throws -> [String] { try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init) }

    /// The last line's MAC as the head file shows it (whatever its format).
    func headMAC() throws -> String {
        let text = try String(contentsOfFile: path + ".head", encoding: .utf8)
        return try #require(text.split(whereSeparator: { $0 == " " || $0 == "\n" }).first { $0.count == 64 }.map(String.init))
    }

    func append(_ text: String) throws {
        let handle = try #require(FileHandle(forWritingAtPath: path))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
    }

    /// Replaces the last occurrence of `old` in place, keeping the file (and its inode).
    func overwrite(_ old: String, with new: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let range = try #require(text.range(of: old, options: .backwards))
        let offset = text.utf8.distance(from: text.startIndex, to: range.lowerBound)
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(offset))
        try handle.write(contentsOf: Data(new.utf8))
    }

    func truncate(keeping count: Int) throws {
        let kept = try lines().prefix(count).map { $0 + "\n" }.joined()
        let handle = try #require(FileHandle(forUpdatingAtPath: path))
        defer { try? handle.close() }
        try handle.truncate(atOffset: UInt64(kept.utf8.count))
    }

    static func prev(of line: String) -> String? {
        ((try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any])?["prev"] as? String
    }
}

private actor Alerts {
    private var items: [String] = []
    func add(_ item: String) { items.append(item) }

    /// The alerts so far, after giving the writer's alert task a moment to run.
    func wait() async throws -> [String] {
        for _ in 0..<200 where items.isEmpty { try await Task.sleep(nanoseconds: 10_000_000) }
        return items
    }
}
