import ArgumentParser
import DeviceGateKit

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Read or verify the audit log of sign-ins, refreshes, logouts and gateway calls.",
        subcommands: [Show.self, Verify.self, Rotate.self])

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Print audit records, oldest first.")

        @OptionGroup var global: GlobalOptions

        @Option(help: ArgumentHelp("Only records from the last DURATION (30s, 15m, 2h, 7d) or since an ISO 8601 time.", valueName: "when"))
        var since: String?

        @Option(help: "Only records for this profile.")
        var profile: String?

        @Option(help: ArgumentHelp("Read this log file instead (e.g. one `audit rotate` moved aside).", valueName: "path"))
        var log: String?

        @Flag(help: "Print raw JSON lines.")
        var json = false

        func run() async throws {
            try await reportingErrors {
                let workspace = try global.workspace()
                let cutoff = try since.map(Self.parse)
                for record in try AuditLog.records(path: log ?? workspace.auditLogPath, since: cutoff, profile: profile) {
                    if json {
                        printJSON(record)
                    } else {
                        let keys = record.keys.filter { !["time", "event", "prev"].contains($0) }.sorted()
                        print(
                            "\(record["time"]?.plainText ?? "") \(record["event"]?.plainText ?? "") "
                                + keys.map { "\($0)=\(record[$0]!.plainText)" }.joined(separator: " ")
                        )
                    }
                }
            }
        }

        static func parse(_ text: String) throws -> Date {
            let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
            if let unit = text.last.flatMap({ units[$0] }), let n = Double(text.dropLast()) { return Date().addingTimeInterval(-n * unit) }
            if let date = InternetTime.date(text) { return date }
            throw ValidationError("--since takes a duration like 15m or 2h, or an ISO 8601 time")
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify",
            abstract: "Check that no record was edited, inserted, appended or deleted.",
            discussion: prose(
                """
                Walks the chain, then checks its end against the sealed head (audit.jsonl.head)
                and the store's record that the log exists. Whoever holds the store key could
                rewrite all of it; against that, check against a head the gateway sent out
                earlier (the witness message in Telegram or the webhook): --witness COUNT:MAC
                fails unless record COUNT is still there with that MAC.

                Exit codes: 0 intact · 1 tampered (the first bad line is named).
                """))

        @OptionGroup var global: GlobalOptions

        @Option(
            help: ArgumentHelp(
                "A head received earlier from the witness: the log must still hold record COUNT with this MAC.", valueName: "count:mac"))
        var witness: String?

        @Option(help: ArgumentHelp("Verify this log file instead (e.g. one `audit rotate` moved aside).", valueName: "path"))
        var log: String?

        func validate() throws {
            if let witness, AuditHead(witness: witness) == nil {
                throw ValidationError("--witness takes COUNT:MAC as the witness message shows it, e.g. 42:3f5a… (64 hex digits)")
            }
        }

        func run() async throws {
            try await reportingErrors {
                let workspace = try global.workspace()
                let path = log ?? workspace.auditLogPath
                let result = try AuditLog.verify(
                    path: path, store: try workspace.store(), witness: witness.flatMap(AuditHead.init(witness:)))
                if let problem = result.problem {
                    print("✗ \(path):\(problem.line): \(problem.reason)")
                    throw ExitCode(Exit.failed)
                }
                for note in result.notes { StandardError.write("note: \(note)") }
                let head = result.head.map { ", head \($0)" } ?? ""
                print("✓ \(path): \(result.lines) records, chain intact\(head)" + (witness == nil ? "" : ", witness head present"))
            }
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate",
            abstract: "Move the audit log aside and start a new one.",
            discussion: prose(
                """
                The way back after the gateway stopped because its log was changed behind its
                back (503 audit_unavailable): check it with `devicegate audit verify`, stop
                `serve`, then rotate. The old log and its head are renamed, never deleted, and
                the new log's first record names them, their head, and what verify found.
                """))

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await reportingErrors {
                let workspace = try global.workspace()
                let rotation = try await AuditLog.rotate(
                    path: workspace.auditLogPath, store: try workspace.store(), by: AuditActor.localUser(command: "audit rotate"))
                if let archived = rotation.archivedPath { StandardError.write("✓ moved the old log to \(archived)") }
                if let problem = rotation.previous.problem {
                    StandardError.write("✗ it did not verify: line \(problem.line): \(problem.reason)")
                }
                StandardError.write("✓ started a new log at \(workspace.auditLogPath)")
            }
        }
    }
}
