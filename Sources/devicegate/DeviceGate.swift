import ArgumentParser
import DeviceGateKit

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

@main
struct DeviceGate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devicegate",
        abstract: "Sign an agent in with the OAuth device flow and hand it tokens, never the person's password.",
        discussion: prose(
            """
            A person approves each sign-in on their own phone or laptop (with MFA); devicegate keeps the
            tokens encrypted, refreshes them, and hands out valid access tokens.

            Getting started:
              devicegate providers             # what each provider needs in config.toml
              devicegate login work            # link, code and QR code; waits for approval
              devicegate token work            # prints a fresh access token
              devicegate exec work -- ./job.sh # job.sh gets the token in $ACCESS_TOKEN
              devicegate status                # who is signed in, until when
              devicegate logout work           # revokes at the provider, deletes locally

            Files: config in $XDG_CONFIG_HOME/devicegate/config.toml (--config, DEVICEGATE_CONFIG);
            tokens in $XDG_DATA_HOME/devicegate (--data-dir, DEVICEGATE_DATA_DIR), encrypted with the key
            in DEVICEGATE_KEY_FILE or a generated store.key beside them.

            Exit codes: 0 ok · 1 other error · 2 sign-in declined, expired or failed · 3 sign-in needed ·
            64 usage error · 78 configuration error · 130 interrupted.
            """),
        version: DeviceGateVersion.current,
        subcommands: [
            Login.self, Token.self, Exec.self, Status.self, Logout.self, Bot.self, Doctor.self, Providers.self, Serve.self, Unlock.self,
            Audit.self, AgentKey.self, Skill.self, MCP.self,
        ]
    )

    static func main() async {
        if let status = await Token.fastPath(CommandLine.arguments) { exitProcess(status) }
        await Self.runWrappingUsage()
    }
}
