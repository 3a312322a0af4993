import ArgumentParser
import DeviceGateKit

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct Skill: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "skill",
        abstract: "Write OpenClaw / AgentSkills skill folders that teach an agent to use devicegate.",
        discussion: prose(
            """
            Writes NAME/SKILL.md folders into --out (default ./skills):

              devicegate-auth
                  starts a sign-in when the user says /auth, "sign in" or "authenticate":
                  `devicegate login PROFILE --notify telegram`, through
                  `docker exec CONTAINER` when --container is given
              devicegate-PROFILE-api
                  one per profile with `upstream` and `allow`: the gateway URL, the
                  allowed methods and paths, what 401/403/423/429 mean

            The files hold commands and URLs, never a secret: when [gateway.agents] is set, the API
            skills send the agent key from $DEVICEGATE_AGENT_KEY (--agent-key-env). Rerunning
            replaces files it wrote and refuses to overwrite any other SKILL.md.

            A runtime that speaks MCP (OpenClaw, Claude Code, Codex, …) needs no skill files and
            no shell: give it `devicegate mcp` (stdio) or the gateway's /mcp ([gateway] mcp = true)
            instead; the same policy reaches it in the tools' descriptions.

            Examples:
              # for deploy/compose.yaml, and for OpenClaw on this host:
              devicegate skill --out ./skills --container devicegate
              devicegate skill work --out ~/.openclaw/skills
              devicegate skill work --gateway-url http://10.0.0.5:8787

            Exit codes: 0 written · 1 cannot write · 78 config error or nothing to write.
            """))

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Profiles to write skills for (default: all).", completion: ProfileCompletion.kind)
    var profiles: [String] = []

    @Option(help: ArgumentHelp("The directory to write the skill folders into.", valueName: "dir"))
    var out = "skills"

    @Option(
        help: ArgumentHelp(
            "Run sign-ins with `docker exec NAME devicegate login …` (default: devicegate on the agent's PATH).", valueName: "name"))
    var container: String?

    @Option(
        help: ArgumentHelp(
            "Where the agent reaches the gateway (default: http://CONTAINER:PORT with --container, else [gateway] listen).",
            valueName: "url"))
    var gatewayURL: String?

    @Option(help: ArgumentHelp("The variable that holds the agent's gateway key.", valueName: "name"))
    var agentKeyEnv = "DEVICEGATE_AGENT_KEY"

    func validate() throws {
        if let container, container.isEmpty || container.contains(where: { $0.isWhitespace || $0 == "'" || $0 == "\"" }) {
            throw ValidationError("--container must be a container name, e.g. devicegate")
        }
        if !ChildEnvironment.isValidName(agentKeyEnv) { throw ValidationError("--agent-key-env must be a variable name") }
    }

    func run() async throws {
        try await reportingErrors {
            let workspace = try global.workspace()
            let selected =
                try profiles.isEmpty ? workspace.config.profiles.values.sorted { $0.name < $1.name } : profiles.map(workspace.profile)
            if selected.isEmpty { _ = try workspace.profile(nil) }  // explains how to configure one
            for profile in selected where !profiles.isEmpty && profile.gateway == nil {
                StandardError.write(
                    "devicegate: \(profile.name) has no `upstream` and `allow`, so the gateway does not serve it: no API skill")
            }
            let writer = SkillWriter(
                profiles: selected, gateway: workspace.config.gateway,
                options: .init(container: container, gatewayURL: gatewayURL, agentKeyVariable: agentKeyEnv))
            do {
                for path in try writer.write(to: out) { print(path) }
            } catch let error as SkillWriter.Failure {
                if case .nothingToWrite = error { throw ConfigError(file: workspace.config.path, error.description) }
                throw error
            }
        }
    }
}
