import ArgumentParser
import DeviceGateKit
import DeviceGateMCP
import Logging

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

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
            // stdout carries only JSON-RPC: every log line goes to stderr.
            LoggingSystem.bootstrap(StreamLogHandler.standardError)
            // The process on the other end of stdio runs as this user and could read the store
            // itself: it is the local agent, and needs no agent key.
            var config = workspace.config.gateway
            config.agents = [:]
            try await workspace.withStores { tokens, store in
                let keeper = Gatekeeper(
                    profiles: selected, config: config, store: store, tokens: tokens, audit: workspace.auditLog(store: store),
                    transport: workspace.transport, time: workspace.time,
                    signIns: NotifierSignIn(workspace: workspace, store: store, tokens: tokens),
                    alerter: NotifierAlerter(workspace: workspace), logger: Logger(label: "devicegate.mcp"))
                let server = Self.server(selected, keeper: keeper, workspace: workspace, tokens: tokens, local: store)
                StandardError.write("devicegate: MCP server on stdio for \(selected.map(\.name).sorted().joined(separator: ", "))")
                await StdioTransport(maxMessageBytes: Self.maxMessageBytes(config)).serve(
                    server, caller: .init(agent: "local", door: "mcp-stdio"))
                try? await keeper.shutdown()
            }
        }
    }

    /// The MCP server over `profiles`, for stdio and for the gateway's `/mcp`: sign-ins go
    /// through each profile's notifiers, calls through `keeper`; tokens and holds are read from
    /// `tokens` (files, or the shared database), the audit log kept beside `local`.
    static func server(_ profiles: [Profile], keeper: Gatekeeper, workspace: Workspace, tokens: any ProfileStore, local store: TokenStore)
        -> MCPServer
    {
        let audit = workspace.auditLog(store: store)
        let signIns = SignIns { profile, caller, progress in
            let notifiers = try Notifiers.make(profile.notifiers, showQR: false, workspace: workspace) + [progress]
            return SignInService(
                profile: profile, store: tokens, transport: workspace.transport, time: workspace.time,
                notifiers: NotifierFanout(notifiers, auditingTo: audit, profile: profile.name), audit: audit,
                actor: AuditActor.mcp(agent: caller.agent, door: caller.door))
        }
        let context = ProfileContext(profiles: profiles, store: tokens, time: workspace.time, signIns: signIns)
        return MCPServer(tools: Toolbox.tools(context, keeper: keeper), instructions: Toolbox.instructions(context))
    }

    /// Room for an `http_request` body of `max_request_bytes`, in base64, inside one message.
    static func maxMessageBytes(_ config: GatewayConfig) -> Int { config.maxRequestBytes / 3 * 4 + (64 << 10) }
}
