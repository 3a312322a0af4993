import ArgumentParser
import DeviceGateKit

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Print a valid access token for a profile, refreshing it first if needed.",
        discussion: prose(
            """
            Only the token goes to stdout, so it can be captured; everything else goes to stderr.
            Prefer `devicegate exec` or the gateway where you can: a token printed into an agent's
            context can be leaked by that agent.

            Examples:
              curl -H "Authorization: Bearer $(devicegate token work)" \\
                https://graph.microsoft.com/v1.0/me
              devicegate token work --min-ttl 900  # at least 15 minutes of validity left

            A profile with token_access = "deny" refuses (use the gateway); with "approve" the
            person approves each raw token in the Telegram chat; a frozen profile refuses.

            Exit codes: 0 ok · 3 sign-in needed (run `devicegate login`) · 1 refresh failed ·
            77 refused (frozen, token_access, not approved) · 78 config error.
            """))

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The profile (default: the only or the default profile).", completion: ProfileCompletion.kind)
    var profile: String?

    @Option(
        help: ArgumentHelp(
            "Refresh unless the token is valid for at least this many seconds (default: the profile's min_ttl, 300).", valueName: "seconds")
    )
    var minTTL: Int?

    func validate() throws {
        if let minTTL, minTTL < 0 { throw ValidationError("--min-ttl must be 0 or more") }
    }

    func run() async throws {
        try await Self.printToken(workspace: { try global.workspace() }, profile: profile, minimumTTL: minTTL)
    }

    static func printToken(workspace load: () throws -> Workspace, profile: String?, minimumTTL: Int?) async throws {
        try await reportingErrors {
            let workspace = try load()
            let profile = try workspace.profile(profile)
            let token = try await workspace.withStores { tokens, local in
                try await RawTokenGate.admit(profile, workspace: workspace, tokens: tokens, local: local, command: "token")
                return try await workspace.broker(for: profile, store: tokens, local: local, command: "token").accessToken(
                    minimumTTL: minimumTTL)
            }
            StandardStream.output.write(token.reveal() + "\n")
        }
    }

    /// `devicegate token [PROFILE]` without options runs here, before argument-parser builds its
    /// command tree: agents call it constantly, and that start-up is most of its cost. Anything
    /// else (options, `--help`) goes through the parser as usual. Returns nil when not taken.
    static func fastPath(_ arguments: [String]) async -> Int32? {
        guard arguments.count <= 3, arguments.count >= 2, arguments[1] == "token" else { return nil }
        let profile = arguments.count == 3 ? arguments[2] : nil
        if let profile, profile.hasPrefix("-") || profile.isEmpty { return nil }
        do {
            try await printToken(workspace: { try Workspace.load(configPath: nil, dataDir: nil) }, profile: profile, minimumTTL: nil)
            return 0
        } catch let exit as ExitCode {
            return exit.rawValue
        } catch {
            return Exit.failed
        }
    }
}
