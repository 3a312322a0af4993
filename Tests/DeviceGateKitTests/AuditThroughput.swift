import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

/// Not a test but a measurement, run by hand through `scripts/bench/audit`: records per second
/// the audit writer sustains with 1, 8 and 64 concurrent callers (group commit at work).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["DEVICEGATE_BENCH_AUDIT"] != nil))
struct AuditThroughput {
    @Test func recordsPerSecond() async throws {
        let environment = ProcessInfo.processInfo.environment
        let total = Int(environment["DEVICEGATE_BENCH_RECORDS"] ?? "") ?? 20000
        let dir = TemporaryDirectory("devicegate-bench-audit")
        defer { dir.remove() }
        let base = environment["DEVICEGATE_BENCH_DIR"] ?? dir.path
        let store = try TokenStore(directory: dir.file("store"), keyFile: nil)
        // What the gateway writes per request.
        let fields: [String: AuditValue] = [
            "agent": .string("openclaw"), "method": .string("GET"), "path": .string("/v1.0/me/messages/123"),
            "profile": .string("work"), "rule": .string("GET /v1.0/me/messages/**"),
        ]
        for callers in [1, 8, 64] {
            let path = base + "/bench-\(UUID().uuidString.prefix(8)).jsonl"
            defer { for file in [path, path + ".head"] { try? FileManager.default.removeItem(atPath: file) } }
            let log = AuditLog(path: path, store: store)
            let each = total / callers
            let start = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<callers {
                    group.addTask { for _ in 0..<each { try await log.record("request", fields) } }
                }
                try await group.waitForAll()
            }
            let elapsed = ContinuousClock.now - start
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print(
                "audit: \(callers) concurrent callers: \(each * callers) records in \(String(format: "%.2f", seconds)) s = \(Int(Double(each * callers) / seconds)) records/s"
            )
            #expect(try AuditLog.verify(path: path, store: store).lines == each * callers)
        }
    }
}
