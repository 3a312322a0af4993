import ArgumentParser
import DeviceGateKit

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct Exec: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command with a fresh access token in its environment.",
        discussion: prose(
            """
            Gets a valid access token for the profile (refreshing it first if needed), then runs
            the command with the token in ACCESS_TOKEN, or in each variable named with --env. The
            token is never put on a command line, where `ps` would show it to every user; pass it
            on inside the command as "$ACCESS_TOKEN" (single-quoted, so the child's shell expands
            it, not yours).

            The command inherits stdin, stdout and stderr and no other descriptor; SIGINT, SIGTERM, SIGHUP and SIGQUIT are
            passed on to it; devicegate exits with the command's status (128+N if signal N ended
            it). Everything after `--` is the command.

            The command does not inherit devicegate's own secrets: the variables named by
            client_secret_env, [telegram] bot_token_env, [webhook] secret_env and url_env,
            TELEGRAM_BOT_TOKEN, DEVICEGATE_AGENT_KEY and IDENTITY_HEADER are removed from its
            environment. --env refuses names that the loader, shells or language runtimes read
            (LD_*, PATH, BASH_ENV, NODE_OPTIONS, PYTHON*, LANG, *_PROXY, …).

            Examples:
              devicegate exec work -- sh -c 'curl -H \\
                "Authorization: Bearer $ACCESS_TOKEN" https://graph.microsoft.com/v1.0/me'
              devicegate exec github --env GH_TOKEN -- gh api user
              devicegate exec work --env TOKEN --min-ttl 1800 -- ./long-job.sh

            Exit codes: the command's own · 3 sign-in needed (run `devicegate login`) · 77 refused
            (frozen, token_access = "deny", or the person did not approve) · 78 config
            error · 126 the command cannot run · 127 command not found · 1 other error before the
            command started.
            """))

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The profile (default: the only or the default profile).", completion: ProfileCompletion.kind)
    var profile: String?

    @Option(
        name: .customLong("env"),
        help: ArgumentHelp("A variable to put the token in (repeatable; default: ACCESS_TOKEN).", valueName: "name"))
    var variables: [String] = []

    @Option(
        help: ArgumentHelp(
            "Refresh unless the token is valid for at least this many seconds (default: the profile's min_ttl, 300).", valueName: "seconds")
    )
    var minTTL: Int?

    @Argument(parsing: .postTerminator, help: ArgumentHelp("The command and its arguments, after `--`.", valueName: "command"))
    var command: [String] = []

    func validate() throws {
        if command.isEmpty { throw ValidationError("name the command to run after `--`, e.g. devicegate exec work -- gh api user") }
        if let minTTL, minTTL < 0 { throw ValidationError("--min-ttl must be 0 or more") }
        for name in variables {
            guard ChildEnvironment.isValidName(name) else {
                throw ValidationError("--env \(name): a variable name is letters, digits and _, not starting with a digit")
            }
            if let reason = ChildEnvironment.refusalReason(forTokenVariable: name) {
                throw ValidationError(
                    "--env \(name): refused, because \(reason), and a token there could be printed in an error message, looked up or run; name a variable only your command reads, e.g. --env GH_TOKEN"
                )
            }
        }
    }

    func run() async throws {
        var termination: ChildProcess.Termination?
        try await reportingErrors {
            let workspace = try global.workspace()
            let profile = try workspace.profile(profile)
            let token = try await workspace.withStores { tokens, local in
                try await RawTokenGate.admit(profile, workspace: workspace, tokens: tokens, local: local, command: "exec")
                return try await workspace.broker(for: profile, store: tokens, local: local, command: "exec").accessToken(
                    minimumTTL: minTTL)
            }
            let names = variables.isEmpty ? ["ACCESS_TOKEN"] : variables
            let child = ChildProcess(
                command: command, secrets: Dictionary(names.map { ($0, token) }, uniquingKeysWith: { a, _ in a }),
                withheld: ChildEnvironment.withheldVariables(of: workspace.config))
            do {
                termination = try await child.run()
            } catch let error as ChildProcess.SpawnError {
                StandardError.write("devicegate: \(error)")
                throw ExitCode(error.exitCode)
            }
        }
        if let code = termination?.exitCode, code != 0 { throw ExitCode(code) }
    }
}
