import ArgumentParser
import DeviceGateGateway
import DeviceGateKit
import DeviceGateMCP
import DeviceGateTelegram
import Logging
import Metrics
import Prometheus

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the local gateway: agents call APIs through it and never see a token.",
        discussion: prose(
            """
            http://127.0.0.1:8787/PROFILE/PATH is forwarded to the profile's `upstream` + PATH with
            the profile's access token injected (refreshed as needed), if one of the profile's allow
            rules permits it. Everything else is refused with a JSON reason, and every call is
            recorded in the audit log. Nothing but the profile's upstream ever receives the token;
            redirects are passed back, never followed.

              [profiles.work]
              provider = "microsoft"
              client_id = "…"
              scopes = ["openid", "offline_access", "User.Read", "Mail.Read"]
              upstream = "https://graph.microsoft.com"
              allow = ["GET /v1.0/me", "GET /v1.0/me/messages/**"]   # or read_only = true
              auto_login = true  # a call without a sign-in sends the person a code
              rate_limit_per_minute = 60

            Patterns: `*` is one path segment, `**` any number (only at the end). Paths with
            `..`, `.`, `//`, encoded slashes or dots, or malformed encodings are refused (400).

            A call an `approve` rule matches (same syntax as allow, e.g. approve = ["POST
            /v1.0/me/sendMail"]) waits until the person taps Approve in the Telegram chat
            (approval_timeout, default 120 s): 403 approval_denied or approval_timeout otherwise.
            With a bot token configured (TELEGRAM_BOT_TOKEN, [telegram]), serve runs the bot
            itself: /auth, /status, /logout and the approval buttons. Telegram allows one poller
            per bot, so do not also run `devicegate bot` with the same token (--no-bot if you must).

            Answers: 401 sign_in_required · 403 forbidden, approval_denied, approval_timeout ·
            423 frozen (/freeze in the chat), locked (breaker) · 429 rate_limited ·
            503 approval_unavailable (no bot).
            Admin: /healthz and /metrics (Prometheus) on --admin-listen. [gateway] in config.toml
            sets listen, socket, admin_listen, max_request_bytes, timeouts, audit_log, the
            breaker thresholds and [gateway.agents] keys (see `devicegate agent-key`).
            [audit] witness_interval (seconds, default 3600) is how often the audit log's head
            is sent to the profiles' notifiers, and once more on shutdown; keep those messages
            for `devicegate audit verify --witness COUNT:MAC`.
            """))

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Listen on HOST:PORT (default [gateway] listen, 127.0.0.1:8787).", valueName: "host:port"))
    var listen: String?

    @Option(help: ArgumentHelp("Listen on a Unix socket (mode 0600) instead.", valueName: "path"))
    var socket: String?

    @Option(help: ArgumentHelp("Admin listener for /healthz and /metrics (default 127.0.0.1:8788).", valueName: "host:port"))
    var adminListen: String?

    @Flag(help: "Do not run the Telegram bot even if a bot token is configured (calls needing approval are then refused).")
    var noBot = false

    func run() async throws {
        try await reportingErrors {
            let workspace = try global.workspace()
            var config = workspace.config.gateway
            if let listen { config.listen = listen }
            if let socket { config.socket = socket }
            if let adminListen { config.adminListen = adminListen }
            var logger = Logger(label: "devicegate.gateway")
            logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
            // One registry for the process: the gateway's own series, and anything that reports
            // through swift-metrics (bootstrapped here, once, by the program, not by a library).
            let registry = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
            let served = workspace.config.profiles.values.filter { $0.gateway != nil }.map(\.name).sorted().joined(separator: ", ")
            // The token store (a database's connections) lives as long as the server and is
            // shut down after it, once the last call has finished.
            try await workspace.withStores { tokens, store in
                let locks = LockCache(store: tokens, time: workspace.time)
                let windows = ApprovalWindows()
                let bot = try ServeBot.make(
                    workspace: workspace, tokens: tokens, local: store, locks: locks, windows: windows, enabled: !noBot)
                let poller = bot == nil ? nil : try await RawTokenGate.claimPoller(workspace)
                defer { poller?.release() }
                let held = workspace.config.profiles.values.filter { !($0.gateway?.approval.rules.isEmpty ?? true) }.map(\.name).sorted()
                if bot == nil, !held.isEmpty {
                    StandardError.write(
                        "devicegate: warning: \(held.joined(separator: ", ")) \(held.count == 1 ? "has" : "have") approve rules but no Telegram bot runs here; those calls are refused (503 approval_unavailable)"
                    )
                }
                let server = GatewayServer(
                    config: config, profiles: Array(workspace.config.profiles.values), store: store, tokens: tokens,
                    signIns: NotifierSignIn(workspace: workspace, store: store, tokens: tokens),
                    alerter: NotifierAlerter(workspace: workspace), transport: workspace.transport, time: workspace.time,
                    auditPath: workspace.auditLogPath, registry: registry, witnessInterval: workspace.config.audit.witnessInterval,
                    endpoints: { [config] keeper in
                        guard config.mcp else { return [] }
                        let server = MCP.server(
                            Array(workspace.config.profiles.values), keeper: keeper, workspace: workspace, tokens: tokens, local: store)
                        return [MCPEndpoint(server: server, maxBodyBytes: MCP.maxMessageBytes(config))]
                    }, approver: bot?.approver, held: bot?.held, locks: locks, windows: windows,
                    approvalSocket: RawTokenGate.approvalSocketPath(workspace))
                do {
                    try await server.run(logger: logger, alongside: bot.map { [$0.bot] } ?? []) { [config] port in
                        // The bound port, so that `--listen 127.0.0.1:0` says where it went.
                        let listen = config.socket ?? (try? ListenAddress(config.listen)).map { "\($0.host):\(port)" } ?? config.listen
                        StandardError.write(
                            "devicegate: gateway on \(listen) for \(served)" + (config.mcp ? "; MCP at /mcp" : "")
                                + "; admin on \(config.adminListen); tokens in \(workspace.config.store.backend.rawValue)"
                                + (bot == nil ? "" : "; Telegram bot running"))
                    }
                } catch let error as TelegramError where error.kind == .unauthorized {
                    throw ConfigError(file: nil, error.description)
                }
            }
        }
    }
}

struct Unlock: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unlock",
        abstract: "Lift a breaker lock from a profile.",
        discussion:
            "The breaker locks a profile and revokes its tokens when failures spike. Check the audit log (`devicegate audit show --profile NAME`), then unlock and sign in again."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The locked profile.", completion: ProfileCompletion.kind)
    var profile: String

    func run() async throws {
        try await reportingErrors {
            let workspace = try global.workspace()
            let profile = try workspace.profile(profile)
            let lifted = try await workspace.withStores { tokens, _ in try await tokens.lift(.locked, for: profile.name) }
            if lifted {
                await workspace.auditLog(store: try workspace.store()).recordOrWarn(
                    "unlocked", AuditActor.localUser(command: "unlock").merging(["profile": .string(profile.name)]) { _, new in new })
                StandardError.write("✓ \(profile.name) is unlocked. Sign in again with `devicegate login \(profile.name)`.")
            } else {
                StandardError.write("\(profile.name) was not locked.")
            }
        }
    }
}

struct AgentKey: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent-key",
        abstract: "Make a key for one agent to call the gateway with.",
        discussion: prose(
            """
            Prints the key on stdout (give it to the agent, e.g. as DEVICEGATE_AGENT_KEY) and, on
            stderr, the line for config.toml. The gateway keeps only the hash.

              [gateway.agents]
              openclaw = "sha256:…"
            """))

    @Argument(help: "The agent's name, as it will appear in the audit log.")
    var name: String

    func run() async throws {
        let (key, hash) = AgentKeys.generate()
        print(key)
        StandardError.write("Add to config.toml:\n\n[gateway.agents]\n\(name) = \"\(hash)\"")
    }
}
