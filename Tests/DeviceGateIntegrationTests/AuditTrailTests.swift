import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

/// Everything that acts is in the audit log, with who did it, by the time the command has
/// returned (issue 9, item 12): the real binary against Glewlwyd.
@Suite(.serialized) struct AuditTrailTests {
    @Test func everyActIsRecordedBeforeTheCommandReturns() throws {
        let idp = try LocalIdP.load()
        let box = Sandbox(idp: idp)
        defer { box.remove() }
        let path = box.dir.file("data/audit.jsonl")
        func last(_ event: String) throws -> [String: Any] {
            try #require(try AuditLog.read(path: path).last { $0["event"] as? String == event }, "\(event) is recorded")
        }
        func expectLocalUser(_ record: [String: Any], command: String) {
            #expect(record["by"] as? String == "cli")
            #expect(record["command"] as? String == command)
            #expect(record["uid"] as? Int == Int(getuid()))
            #expect(record["profile"] as? String == "work")
        }
        func count(_ event: String) throws -> Int { try AuditLog.read(path: path).filter { $0["event"] as? String == event }.count }

        let login = try box.login("work") { try idp.approve($0) }
        #expect(login.result.status == 0, "login: \(login.result.stderr)")
        expectLocalUser(try last("signed_in"), command: "login")

        let token = try box.run("token", "work", "--min-ttl", "999999")
        #expect(token.status == 0, "token: \(token.stderr)")
        expectLocalUser(try last("refresh"), command: "token")

        let exec = try box.run("exec", "work", "--min-ttl", "999999", "--", "true")
        #expect(exec.status == 0, "exec: \(exec.stderr)")
        expectLocalUser(try last("refresh"), command: "exec")
        #expect(try count("refresh") == 2)

        // A stale token: `login` refreshes it rather than starting a new sign-in, and says so in the log.
        var entry = try #require(try box.store().load("work"))
        entry.tokens.expiresAt = Date().addingTimeInterval(-60)
        try box.store().save(entry)
        let again = try box.run("login", "work", "--json")
        #expect(again.status == 0, "login: \(again.stderr)")
        expectLocalUser(try last("refresh"), command: "login")
        #expect(try count("refresh") == 3)

        let logout = try box.run("logout", "work")
        #expect(logout.status == 0, "logout: \(logout.stderr)")
        let loggedOut = try last("logout")
        expectLocalUser(loggedOut, command: "logout")
        #expect((loggedOut["revoked"] as? String)?.contains("refresh token") == true)

        try ProfileLock(profile: "work", reason: "test", lockedAt: Date()).write(in: box.dir.file("data"))
        let unlock = try box.run("unlock", "work")
        #expect(unlock.status == 0, "unlock: \(unlock.stderr)")
        expectLocalUser(try last("unlocked"), command: "unlock")

        let verify = try box.run("audit", "verify")
        #expect(verify.status == 0, "verify: \(verify.stdout) \(verify.stderr)")
        let head = try #require(try AuditLog.verify(path: path, store: box.store()).head)
        #expect(verify.stdout.contains("head \(head)"))
        #expect(try box.run("audit", "verify", "--witness", head.description).status == 0)

        // Cut the last record and reseal nothing: verify names the line, and the witness too.
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        try (lines.dropLast().joined(separator: "\n") + "\n").write(toFile: path, atomically: false, encoding: .utf8)
        let cut = try box.run("audit", "verify", "--witness", head.description)
        #expect(cut.status == 1)
        #expect(cut.stdout.contains("audit.jsonl:\(lines.count - 1):"), "\(cut.stdout)")
        #expect(try box.run("audit", "verify", "--witness", "nonsense").status == 64)
    }
}
