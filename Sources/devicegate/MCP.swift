import ArgumentParser
import DeviceGateKit
import DeviceGateMCP
import Foundation

struct MCP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mcp",
        abstract: "Serve the profiles to an agent runtime as a Model Context Protocol server on stdio.",
        discussion: prose(
            """
            The agent runtime starts it ({"command": "devicegate", "args": ["mcp"]}) and talks
            JSON-RPC on stdin and stdout; devicegate's own messages go to stderr. Tools:
            list_profiles, sign_in (the code goes to the person through the profile's notifiers),
            sign_in_status and http_request (a call through the gateway's policy, limits, breaker
            and audit log; the token never enters the conversation). The gateway offers the same
            tools at /mcp when [gateway] mcp = true.

            Examples:
              devicegate mcp
              devicegate mcp --profile work --profile github
              claude mcp add devicegate -- devicegate mcp

            Exit codes: 0 stdin closed · 78 config error.
            """))

    @OptionGroup var global: GlobalOptions

    @Option(
        name: .customLong("profile"),
        help: ArgumentHelp("Serve only this profile (repeatable; default: all).", valueName: "name"),
        completion: ProfileCompletion.kind)
    var profiles: [String] = []

    func run() async throws {
        try await reportingErrors {
            let workspace = try global.workspace()
            let selected = try profiles.isEmpty ? Array(workspace.config.profiles.values) : profiles.map(workspace.profile)
            if selected.isEmpty { _ = try workspace.profile(nil) }  // explains how to configure one
            let store = try workspace.store()
            let audit = workspace.auditLog(store: store)
            let signIns = SignIns { profile, caller, progress in
                let notifiers = try Notifiers.make(profile.notifiers, showQR: false, workspace: workspace) + [progress]
                return SignInService(
                    profile: profile, store: store, transport: workspace.transport, time: workspace.time,
                    notifiers: NotifierFanout(notifiers, auditingTo: audit, profile: profile.name), audit: audit,
                    actor: AuditActor.mcp(agent: caller.agent, door: caller.door))
            }
            let context = ProfileContext(profiles: selected, store: store, time: workspace.time, signIns: signIns)
            let server = MCPServer(tools: Toolbox.tools(context), instructions: Toolbox.instructions(context))
            StandardError.write("devicegate: MCP server on stdio for \(context.profiles.map(\.name).joined(separator: ", "))")
            await StdioTransport().serve(server, caller: .init(agent: "local", door: "mcp-stdio"))
        }
    }
}
