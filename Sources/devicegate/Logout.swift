import ArgumentParser
import DeviceGateKit

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct Logout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logout",
        abstract: "Revoke a profile's tokens at the provider and delete them from the store.",
        discussion: prose(
            """
            Revokes the refresh token and the access token where the provider offers revocation
            (RFC 7009; GitHub's token API), then deletes the local entry, and says what was revoked
            and what could not be. Microsoft has no revocation endpoint for these tokens: there the
            tokens are deleted locally and expire on their own.

            Exit codes: 0 done (also when nothing was stored) · 1 revocation incomplete · 78 config error.
            """))

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The profile (default: the only or the default profile).", completion: ProfileCompletion.kind)
    var profile: String?

    @Flag(help: "Delete locally without contacting the provider.")
    var local = false

    @Flag(help: "Print the outcome as JSON.")
    var json = false

    func run() async throws {
        try await reportingErrors {
            let workspace = try global.workspace()
            let profile = try workspace.profile(profile)
            let report = try await workspace.withStores { tokens, store in
                try await LogoutService(
                    profile: profile, store: tokens, transport: workspace.transport, time: workspace.time,
                    audit: workspace.auditLog(store: store),
                    actor: AuditActor.localUser(command: "logout")
                ).run(revoke: !local)
            }
            let complete = local || (report.providerProblem == nil && report.revocations.allSatisfy { $0.revoked || !$0.attempted })
            if json {
                printJSON([
                    "profile": .string(report.profile), "had_tokens": JSONValue(report.hadTokens), "deleted": JSONValue(report.deleted),
                    "revoked": .array(
                        report.revocations.map {
                            [
                                "token": .string($0.token), "revoked": JSONValue($0.revoked), "attempted": JSONValue($0.attempted),
                                "detail": .string($0.detail),
                            ]
                        }),
                    "problem": JSONValue(report.providerProblem),
                ])
            } else if !report.hadTokens {
                StandardError.write("\(report.profile): nothing stored; already signed out.")
            } else {
                for outcome in report.revocations {
                    StandardError.write("\(outcome.revoked ? "✓" : outcome.attempted ? "✗" : "–") \(outcome.token): \(outcome.detail)")
                }
                if let problem = report.providerProblem { StandardError.write("✗ could not revoke at the provider: \(problem)") }
                StandardError.write("✓ deleted the stored tokens for \(report.profile)")
            }
            if report.hadTokens && !complete { throw ExitCode(Exit.failed) }
        }
    }
}
