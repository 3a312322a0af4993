import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

/// The audit log changed behind a running gateway's back: it must stop forwarding, alert, and
/// `audit verify` must name the line (issue 9, item 9).
@Suite struct AuditTamperingTests {
    enum Attack: String, CaseIterable, Sendable {
        case forgedAppend, editedLastRecord, cutLastRecords, replacedFile
    }

    @Test(arguments: Attack.allCases) func aLogChangedWhileServingStopsTheGateway(_ attack: Attack) async throws {
        let gw = try await GatewayHarness.start()
        defer { Task { await gw.stop() } }
        for _ in 0..<2 { #expect(try await gw.call("GET", "/work/v1.0/me").status == 200) }
        // request + response, twice; the response record is written as its stream ends.
        var text = ""
        for _ in 0..<200 {
            text = try String(contentsOfFile: gw.auditPath, encoding: .utf8)
            if text.split(separator: "\n").count == 4 { break }
            try await Task.sleep(nanoseconds: 10_000_000)
        }
        let lines = text.split(separator: "\n").map(String.init)
        try #require(lines.count == 4)
        let handle = try #require(FileHandle(forUpdatingAtPath: gw.auditPath))
        switch attack {
        case .forgedAppend:
            let head = try String(contentsOfFile: gw.auditPath + ".head", encoding: .utf8)
            let mac = try #require(head.split(whereSeparator: { $0 == " " || $0 == "\n" }).first { $0.count == 64 })
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(#"{"event":"request","path":"/v1.0/me","prev":"\#(mac)","status":200}"#.utf8 + [0x0A]))
        case .editedLastRecord:
            let offset = text.utf8.count - lines[3].utf8.count - 1
            let edited = lines[3].replacingOccurrences(of: #""status":200"#, with: #""status":500"#)
            #expect(edited != lines[3])
            try handle.seek(toOffset: UInt64(offset))
            try handle.write(contentsOf: Data(edited.utf8))
        case .cutLastRecords:
            try handle.truncate(atOffset: UInt64(lines[0].utf8.count + lines[1].utf8.count + 2))
        case .replacedFile:
            try (lines[0...1].joined(separator: "\n") + "\n").write(toFile: gw.auditPath, atomically: true, encoding: .utf8)
        }
        try handle.close()

        let refused = try await gw.call("GET", "/work/v1.0/me")
        #expect(refused.status == 503)
        #expect(refused.json["error"] as? String == "audit_unavailable")
        #expect(gw.upstream.requests.count == 2, "nothing more was forwarded")
        #expect(try await gw.call("GET", "/work/v1.0/me").status == 503, "and it stays refused")
        var alerts: [String] = []
        for _ in 0..<200 where alerts.isEmpty {
            try await Task.sleep(nanoseconds: 10_000_000)
            alerts = gw.alertMessages.filter { $0.contains("audit log") }
        }
        #expect(alerts.count == 1, "\(gw.alertMessages)")
        #expect(alerts.first?.contains("devicegate audit verify") == true)
        let problem = try AuditLog.verify(path: gw.auditPath, store: gw.store).problem
        switch attack {
        case .forgedAppend: #expect(problem?.line == 5)
        case .editedLastRecord: #expect(problem?.line == 4)
        case .cutLastRecords, .replacedFile: #expect(problem?.line == 2)
        }
    }

    @Test func theWitnessSendsTheHeadPeriodicallyWhenItMoved() async throws {
        let gw = try await GatewayHarness.start(witnessInterval: 0.1)
        defer { Task { await gw.stop() } }
        func witnesses() -> [String] { gw.alertMessages.filter { $0.contains("Audit witness") } }
        func waitFor(records: Int) async throws -> String {
            for _ in 0..<300 {
                if let message = witnesses().last, message.contains("holds \(records) records") { return message }
                try await Task.sleep(nanoseconds: 10_000_000)
            }
            Issue.record("no witness for \(records) records: \(witnesses())")
            return ""
        }
        _ = try await gw.call("GET", "/work/v1.0/me")  // request + response
        let first = try await waitFor(records: 2)
        #expect(first.contains("devicegate audit verify --witness 2:"))
        let sent = witnesses().count
        try await Task.sleep(nanoseconds: 400_000_000)
        #expect(witnesses().count == sent, "an unchanged head is not sent again")
        _ = try await gw.call("GET", "/work/v1.0/me")
        _ = try await waitFor(records: 4)
    }

    @Test func theWitnessSendsTheHeadAtShutdown() async throws {
        let gw = try await GatewayHarness.start()
        _ = try await gw.call("GET", "/work/v1.0/me")
        let path = gw.auditPath
        let store = gw.store
        await gw.stopServing()
        let witness = try #require(gw.alertMessages.first { $0.contains("Audit witness") })
        let head = try #require(AuditLog.verify(path: path, store: store).head)
        #expect(witness.contains("devicegate audit verify --witness \(head)"))
        #expect(try AuditLog.verify(path: path, store: store, witness: head).isIntact)
        await gw.stop()
    }
}
