import DeviceGateKit
import Foundation
import HTTPTypes
import Logging
import NIOConcurrencyHelpers

/// What the request path shares: one broker per profile (so concurrent requests share one
/// refresh), the audit log, limits, breaker, upstream client and metrics.
final class GatewayState: Sendable {
    struct Gate: Sendable {
        let profile: Profile
        let settings: GatewaySettings
        let broker: TokenBroker
        /// The upstream URL without a trailing slash; the agent's path is appended.
        let upstreamBase: String
    }

    let profiles: [String: Gate]
    let config: GatewayConfig
    let store: TokenStore
    let audit: AuditLog
    let limiter = RateLimiter()
    let breaker: Breaker
    let locks: LockCache
    let time: any TimeSource
    let agents: AgentKeys
    let upstream: UpstreamClient
    let logger: Logger
    let hooks: GatewayHooks
    let metrics: GatewayMetrics
    let tokenVariants = TokenRedactor.Variants()
    private let signInsRunning = NIOLockedValueBox<Set<String>>([])

    init(
        profiles: [Profile], config: GatewayConfig, store: TokenStore, audit: AuditLog, hooks: GatewayHooks, transport: any HTTPTransport,
        time: any TimeSource, metrics: GatewayMetrics, logger: Logger
    ) {
        var gates: [String: Gate] = [:]
        for profile in profiles {
            guard let settings = profile.gateway else { continue }
            var base = settings.upstream.absoluteString
            while base.hasSuffix("/") { base.removeLast() }
            let auditLog = audit
            let name = profile.name
            // Awaited: the refresh is on disk before the new token is used or the process exits.
            let broker = TokenBroker(
                profile: profile, store: store, transport: transport, time: time,
                onRefresh: { _ in
                    await auditLog.recordOrWarn("refresh", AuditActor.gateway.merging(["profile": .string(name)]) { _, n in n })
                })
            gates[profile.name] = Gate(profile: profile, settings: settings, broker: broker, upstreamBase: base)
        }
        self.profiles = gates
        self.config = config
        self.store = store
        self.audit = audit
        self.breaker = Breaker(config)
        self.locks = LockCache(directory: store.directory, time: time)
        self.time = time
        self.agents = AgentKeys(config.agents)
        self.upstream = UpstreamClient(config: config)
        self.logger = logger
        self.hooks = hooks
        self.metrics = metrics
    }

    /// The calling agent: named by its key when keys are configured, else "local".
    func agent(for headers: HTTPFields) throws(Denial) -> String {
        guard !agents.isEmpty else { return "local" }
        let values = headers[values: .authorization]
        guard values.count == 1, let header = values.first, header.lowercased().hasPrefix("bearer "),
            let name = agents.agent(for: String(header.dropFirst(7)).trimmingCharacters(in: .whitespaces))
        else {
            throw Denial(
                status: .unauthorized, error: "agent_key_required", profile: nil,
                reason: "send your agent key as Authorization: Bearer <key>")
        }
        return name
    }

    /// Starts a sign-in through the profile's notifiers, once at a time, if `auto_login` is on.
    func startSignInIfAllowed(_ gate: Gate) -> Bool {
        guard gate.settings.autoLogin, gate.profile.grant == .deviceCode else { return false }
        let name = gate.profile.name
        let fresh = signInsRunning.withLockedValue { $0.insert(name).inserted }
        guard fresh else { return true }
        Task {
            defer { _ = signInsRunning.withLockedValue { $0.remove(name) } }
            try? await audit.record("sign_in_started", ["profile": .string(name), "by": .string("gateway")])
            do {
                try await hooks.signIn(gate.profile)
                await gate.broker.forget()
                try? await audit.record("signed_in", ["profile": .string(name)])
            } catch {
                try? await audit.record("sign_in_failed", ["profile": .string(name), "reason": .string(String(describing: error))])
                await trip(name, .failedSignIn)
            }
        }
        return true
    }

    /// Feeds the breaker; past its threshold, locks the profile, revokes its tokens, wipes the
    /// stored entry and tells the person.
    func trip(_ profile: String, _ signal: Breaker.Signal) async {
        let now = time.now()
        guard let reason = await breaker.record(signal, profile: profile, now: now), let gate = profiles[profile] else { return }
        do {
            try locks.write(ProfileLock(profile: profile, reason: "locked by the breaker: \(reason)", lockedAt: now))
        } catch {
            logger.critical("could not write the lock file", metadata: ["profile": "\(profile)", "error": "\(error)"])
        }
        await gate.broker.forget()
        let report = try? await LogoutService(profile: gate.profile, store: store, transport: hooks.transport, time: hooks.time).run(
            revoke: true)
        let revoked = report?.revocations.filter(\.revoked).map(\.token) ?? []
        await audit.recordOrWarn(
            "breaker_tripped",
            ["profile": .string(profile), "reason": .string(reason), "revoked": .string(revoked.joined(separator: ", "))])
        metrics.breakerTripped(profile: profile)
        logger.warning("breaker tripped; profile locked", metadata: ["profile": "\(profile)", "reason": "\(reason)"])
        await hooks.alert(
            gate.profile, "🔒 \(profile) was locked: \(reason). Its tokens were revoked. Run `devicegate unlock \(profile)` when it is safe."
        )
    }

    func count(profile: String?, outcome: String, status: Int) {
        metrics.countRequest(profile: profile, outcome: outcome, status: status)
    }

    func observe(profile: String, duration: Duration, bytes: Int) {
        metrics.observe(profile: profile, duration: duration, bytes: bytes)
    }
}

/// What the gateway needs from the program around it: how to run a sign-in with the profile's
/// notifiers, and how to alert the person. The CLI supplies both.
public struct GatewayHooks: Sendable {
    public let signIn: @Sendable (Profile) async throws -> Void
    public let alert: @Sendable (Profile, String) async -> Void
    public let transport: any HTTPTransport
    public let time: any TimeSource

    public init(
        transport: any HTTPTransport = AsyncHTTPTransport.shared, time: any TimeSource = SystemTimeSource(),
        signIn: @escaping @Sendable (Profile) async throws -> Void, alert: @escaping @Sendable (Profile, String) async -> Void
    ) {
        self.signIn = signIn
        self.alert = alert
        self.transport = transport
        self.time = time
    }
}
