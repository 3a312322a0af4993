import ArgumentParser
import DeviceGateKit
import Foundation

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Read or verify the audit log of sign-ins, refreshes and gateway calls.",
        subcommands: [Show.self, Verify.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Print audit records, oldest first.")

        @OptionGroup var global: GlobalOptions

        @Option(help: ArgumentHelp("Only records from the last DURATION (30s, 15m, 2h, 7d) or since an ISO 8601 time.", valueName: "when"))
        var since: String?

        @Option(help: "Only records for this profile.")
        var profile: String?

        @Flag(help: "Print raw JSON lines.")
        var json = false

        func run() async throws {
            try await reportingErrors {
                let workspace = try global.workspace()
                let cutoff = try since.map(Self.parse)
                for record in try AuditLog.read(path: workspace.auditLogPath, since: cutoff, profile: profile) {
                    if json {
                        printJSON(record)
                    } else {
                        let keys = record.keys.filter { !["time", "event", "prev"].contains($0) }.sorted()
                        print(
                            "\(record["time"] ?? "") \(record["event"] ?? "") " + keys.map { "\($0)=\(record[$0]!)" }.joined(separator: " ")
                        )
                    }
                }
            }
        }

        static func parse(_ text: String) throws -> Date {
            let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
            if let unit = text.last.flatMap({ units[$0] }), let n = Double(text.dropLast()) { return Date().addingTimeInterval(-n * unit) }
            let formatter = ISO8601DateFormatter()
            if let date = formatter.date(from: text) { return date }
            throw ValidationError("--since takes a duration like 15m or 2h, or an ISO 8601 time")
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Check that no record was edited, inserted or deleted.",
            discussion: prose("Exit codes: 0 intact · 1 tampered (the first bad line is named)."))

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await reportingErrors {
                let workspace = try global.workspace()
                let result = try AuditLog.verify(path: workspace.auditLogPath, storeKey: try workspace.store().key)
                if let problem = result.problem {
                    print("✗ \(workspace.auditLogPath):\(problem.line): \(problem.reason)")
                    throw ExitCode(Exit.failed)
                }
                print("✓ \(workspace.auditLogPath): \(result.lines) records, chain intact")
            }
        }
    }
}
