import DeviceGateKit
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `devicegate serve`: the agent-facing listener and the admin listener (`/healthz`,
/// `/metrics`), run together until SIGTERM or SIGINT, letting in-flight requests finish.
public struct GatewayServer: Sendable {
    public let config: GatewayConfig
    public let profiles: [Profile]
    public let store: TokenStore
    /// The token store when it is not `store` (a database shared by replicas); nil: `store`.
    public let tokens: (any ProfileStore)?
    /// Starts a sign-in for the person when a call finds none (`auto_login`).
    public let signIns: any SignInStarter
    /// Tells the person about breaker locks and a tampered audit log.
    public let alerter: any PersonAlerter
    /// For the identity providers (refresh, revocation).
    public let transport: any HTTPTransport
    public let time: any TimeSource
    public let auditPath: String
    /// Where `/metrics` reads from; the program owns it (and may bootstrap swift-metrics with it).
    public let registry: PrometheusCollectorRegistry
    /// Seconds between audit heads sent to the notifiers (`[audit] witness_interval`); nil: only at shutdown.
    public let witnessInterval: Double?
    /// Other protocols to serve on the agent listener (the MCP server's `/mcp`), made once the
    /// ``Gatekeeper`` exists so that their calls meet the same decision.
    public let endpoints: @Sendable (Gatekeeper) -> [any GatewayEndpoint]
    /// Shows calls an `approve` rule holds to a person; nil refuses them (503 approval_unavailable).
    public let approver: (any Approver)?
    /// The held requests `approver` decides through.
    public let held: HeldRequests?
    /// Lock and freeze files and approval windows, shared with the chat's kill switch.
    public let locks: LockCache?
    public let windows: ApprovalWindows?
    /// Where `devicegate token`/`exec` ask this process for a raw-token approval (a Unix socket
    /// in the data directory); nil without an approver.
    public let approvalSocket: String?

    public init(
        config: GatewayConfig, profiles: [Profile], store: TokenStore, tokens: (any ProfileStore)? = nil, signIns: any SignInStarter,
        alerter: any PersonAlerter,
        transport: any HTTPTransport = AsyncHTTPTransport.shared, time: any TimeSource = SystemTimeSource(), auditPath: String,
        registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), witnessInterval: Double? = AuditSettings().witnessInterval,
        endpoints: @escaping @Sendable (Gatekeeper) -> [any GatewayEndpoint] = { _ in [] }, approver: (any Approver)? = nil,
        held: HeldRequests? = nil, locks: LockCache? = nil, windows: ApprovalWindows? = nil, approvalSocket: String? = nil
    ) {
        self.approvalSocket = approver == nil ? nil : approvalSocket
        self.endpoints = endpoints
        self.locks = locks
        self.windows = windows
        self.approver = approver
        self.held = held
        self.signIns = signIns
        self.alerter = alerter
        self.transport = transport
        self.time = time
        self.registry = registry
        self.config = config
        self.profiles = profiles
        self.store = store
        self.tokens = tokens
        self.auditPath = auditPath
        self.witnessInterval = witnessInterval
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Builds both applications. `onReady` receives the bound agent-facing port (0 for a socket).
    public func applications(logger: Logger, onReady: @escaping @Sendable (Int) async -> Void = { _ in }) throws -> [any Service] {
        let served = profiles.filter { $0.gateway != nil }
        guard !served.isEmpty else {
            throw Failure(
                description: "no profile has an `upstream`; add upstream and allow rules to a profile (see `devicegate serve --help`)")
        }
        // Whatever set the address (config or --listen), a non-loopback listener admits only
        // agents with keys: anyone who can reach it would otherwise borrow the person's authority.
        let listen = try Self.address(config.listen)
        if config.socket == nil, !listen.isLoopback, AgentKeys(config.agents).isEmpty {
            throw Failure(
                description:
                    "listening on \(config.listen) (not loopback) needs agent keys in [gateway.agents]; make one with `devicegate agent-key NAME`"
            )
        }
        let placement = try config.socket.map(UnixSocketPlacement.init(path:))
        let adminAddress = try Self.address(config.adminListen)
        let rawTokenPlacement = try approvalSocket.map(UnixSocketPlacement.init(path:))
        // Everything that can refuse has run: only now is the upstream client made, which
        // must be shut down once it exists.
        let registry = self.registry
        let alerter = self.alerter
        let recipients = AuditWitness.recipients(served)
        // A log changed behind the writer's back stops the gateway (503 audit_unavailable): say so.
        let audit = AuditLog(path: auditPath, store: store) { reason in
            logger.critical("audit log tampered; refusing to forward", metadata: ["reason": "\(reason)"])
            for profile in recipients { await alerter.alert("🚨 \(reason)", about: profile) }
        }
        let witness = AuditWitness(audit: audit, profiles: served, interval: witnessInterval, time: time, alerter: alerter, logger: logger)
        let keeper = Gatekeeper(
            profiles: served, config: config, store: store, tokens: tokens, audit: audit, transport: transport, time: time,
            signIns: signIns, alerter: alerter, metrics: GatewayMetrics(registry: registry), approver: approver, held: held,
            locks: locks, windows: windows, logger: logger)
        let mounted = endpoints(keeper)
        let main = AgentListener(
            address: placement.map { .unix($0) } ?? .tcp(host: listen.host, port: listen.port), keeper: keeper, endpoints: mounted,
            connections: ConnectionLimit(maximum: config.maxConnections), headerTimeout: .seconds(Int64(config.headerTimeout)),
            idleTimeout: .seconds(config.idleTimeout), logger: logger, onReady: onReady)
        let router = Router()
        router.get("/healthz") { _, _ in "ok\n" }
        router.get("/metrics") { _, _ -> Response in
            var buffer = [UInt8]()
            registry.emit(into: &buffer)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
        let admin = Application(
            router: router,
            configuration: .init(address: .hostname(adminAddress.host, port: adminAddress.port), serverName: "devicegate-admin"),
            logger: logger
        )
        let rawTokens = rawTokenPlacement.map {
            RawTokenApprovals(placement: $0, profiles: served, approvals: keeper.approvals, time: time).application(logger: logger)
        }
        // Shut down in reverse: the listeners stop first (the agents' finishing their calls),
        // then the change feed, then the upstream pool closes, then the witness sends the final head.
        return [witness, UpstreamShutdown(keeper: keeper), ChangeFeed(keeper: keeper), main, admin] + (rawTokens.map { [$0] } ?? [])
    }

    /// Runs until a signal, then shuts down gracefully.
    /// - Parameter alongside: services that live and stop with the gateway (the Telegram bot
    ///   that reads the person's commands and approval presses); started first, stopped last.
    public func run(
        logger: Logger, alongside: [any Service] = [], onReady: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        let group = ServiceGroup(
            configuration: .init(
                services: alongside + (try applications(logger: logger, onReady: onReady)), gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }

    static func address(_ text: String) throws -> ListenAddress {
        do { return try ListenAddress(text) } catch { throw Failure(description: error.description) }
    }
}

/// Follows the token store's change feed (LISTEN/NOTIFY for PostgreSQL) while the server runs.
/// A store without one (files) returns at once; the service then waits for the shutdown, since
/// a service that ends early would stop the whole server.
struct ChangeFeed: Service {
    let keeper: Gatekeeper
    func run() async throws {
        try? await cancelWhenGracefulShutdown { try await keeper.followChanges() }
        try? await gracefulShutdown()
    }
}

/// Closes the upstream connection pool after the server stops.
struct UpstreamShutdown: Service {
    let keeper: Gatekeeper
    func run() async throws {
        try? await gracefulShutdown()
        try await keeper.shutdown()
    }
}
