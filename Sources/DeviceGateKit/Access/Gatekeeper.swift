import HTTPTypes
import Logging
import NIOConcurrencyHelpers
import NIOPosix

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What every door's decision shares: one broker per served profile (so concurrent calls share
/// one refresh), the audit log, limits, the breaker and its locks, the agent keys, the upstream
/// client and the counters.
///
/// Doors (the HTTP gateway, the MCP server) hold one and call ``call(_:refusal:body:)``; none of
/// them decides anything itself. It owns an upstream connection pool: call ``shutdown()`` once
/// the last call has finished.
public final class Gatekeeper: Sendable {
    /// A served profile: its settings, its broker and where its calls go.
    public struct Gate: Sendable {
        public let profile: Profile
        public let settings: GatewaySettings
        public let broker: TokenBroker
        /// The upstream URL without a trailing slash; the agent's path is appended.
        public let upstreamBase: String
        /// Where the pool connects for this profile, parsed once from `settings.upstream`.
        public let origin: UpstreamOrigin
    }

    public let profiles: [String: Gate]
    public let config: GatewayConfig
    /// This machine's files store: its key and directory seal the audit log.
    public let store: TokenStore
    /// Where the tokens and holds are: `store` itself, or a database shared by replicas.
    public let tokens: any ProfileStore
    public let audit: AuditLog
    let limiter = RateLimiter()
    let breaker: Breaker
    public let locks: LockCache
    public let time: any TimeSource
    let agents: AgentKeys
    let upstream: UpstreamClient
    /// The upstream connections of every door: the gateway's NIO handler starts exchanges on
    /// it directly, the async path (held calls, MCP) through ``UpstreamPool/send(_:body:to:)``.
    public let upstreamPool: UpstreamPool
    let transport: any HTTPTransport
    let signIns: any SignInStarter
    let alerter: any PersonAlerter
    let metrics: any AccessMetrics
    let logger: Logger
    let tokenVariants = TokenRedactor.Variants()
    /// The approval step: who is asked about calls an `approve` rule matches.
    public let approvals: ApprovalDesk
    private let signInsRunning = NIOLockedValueBox<Set<String>>([])

    /// - Parameters:
    ///   - profiles: every configured profile; those without an `upstream` are not served.
    ///   - transport: for the identity providers (refresh, revocation), not for upstream calls.
    ///   - time: the clock of the rate limits, the breaker window, the lock cache, the broker and
    ///     the approval deadlines.
    ///   - tokens: the token store when it is not `store` (`[store] backend = "postgres"`).
    ///   - approver: who shows held calls to a person (the Telegram bot); nil refuses them with
    ///     503 `approval_unavailable`.
    ///   - held: the registry the approver decides through; made here when not shared.
    ///   - locks: the lock and freeze cache, shared with the chat's ``KillSwitch`` so a freeze
    ///     holds from the next call; made here (over `tokens`) when not shared.
    ///   - windows: the open 15-minute approvals, shared so a freeze closes them.
    public init(
        profiles: [Profile], config: GatewayConfig, store: TokenStore, tokens: (any ProfileStore)? = nil, audit: AuditLog,
        transport: any HTTPTransport,
        time: any TimeSource, signIns: any SignInStarter, alerter: any PersonAlerter, metrics: any AccessMetrics = NoAccessMetrics(),
        approver: (any Approver)? = nil, held: HeldRequests? = nil, locks: LockCache? = nil, windows: ApprovalWindows? = nil,
        logger: Logger
    ) {
        let tokens = tokens ?? store
        self.approvals = ApprovalDesk(
            approver: approver, held: held ?? HeldRequests(time: time), windows: windows ?? ApprovalWindows(), audit: audit, time: time)
        var gates: [String: Gate] = [:]
        for profile in profiles {
            guard let settings = profile.gateway else { continue }
            let origin: UpstreamOrigin
            do { origin = try UpstreamOrigin(url: settings.upstream) } catch {
                // The config loader accepts only http(s) URLs with a host; this is a backstop.
                logger.error("profile not served: \(error)", metadata: ["profile": "\(profile.name)"])
                continue
            }
            var base = settings.upstream.absoluteString
            while base.hasSuffix("/") { base.removeLast() }
            let auditLog = audit
            let name = profile.name
            // Awaited: the refresh is on disk before the new token is used or the process exits.
            let broker = TokenBroker(
                profile: profile, store: tokens, transport: transport, time: time,
                onRefresh: { _ in
                    await auditLog.recordOrWarn("refresh", AuditActor.gateway.merging(["profile": .string(name)]) { _, n in n })
                })
            gates[profile.name] = Gate(profile: profile, settings: settings, broker: broker, upstreamBase: base, origin: origin)
        }
        self.profiles = gates
        self.config = config
        self.store = store
        self.tokens = tokens
        self.audit = audit
        self.breaker = Breaker(config)
        self.locks = locks ?? LockCache(store: tokens, time: time)
        self.time = time
        self.agents = AgentKeys(config.agents)
        let pool = UpstreamPool(
            group: MultiThreadedEventLoopGroup.singleton,
            configuration: .init(
                connectTimeout: .seconds(Int64(config.connectTimeout)), readTimeout: .seconds(Int64(config.readTimeout))))
        self.upstreamPool = pool
        self.upstream = UpstreamClient(pool: pool)
        self.transport = transport
        self.signIns = signIns
        self.alerter = alerter
        self.metrics = metrics
        self.logger = logger
    }

    /// Follows the store's change feed until cancelled: another replica's refresh, logout,
    /// lock or freeze drops this process's cached copy at once, so the next call reads the
    /// store. Returns at once for files (the broker re-reads on expiry, holds within a second).
    public func followChanges() async throws {
        let (gates, locks) = (profiles, self.locks)
        try await tokens.watch { profile in
            locks.invalidate(profile)
            if let profile {
                await gates[profile]?.broker.forget()
            } else {
                for gate in gates.values { await gate.broker.forget() }
            }
        }
    }

    /// Closes the upstream connection pool. Call it once, after the last call finished.
    public func shutdown() async throws { await upstreamPool.shutdown() }

    /// The calling agent: named by its key when keys are configured, else "local".
    func agent(for headers: HTTPFields) throws(Denial) -> String {
        guard !agents.isEmpty else { return "local" }
        let values = headers[values: .authorization]
        guard values.count == 1, let header = values.first, header.lowercased().hasPrefix("bearer "),
            let name = agents.agent(for: String(header.dropFirst(7)).trimmingWhitespace())
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
                try await signIns.signIn(gate.profile)
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
            try await locks.place(.locked, ProfileLock(profile: profile, reason: "locked by the breaker: \(reason)", lockedAt: now))
        } catch {
            logger.critical("could not store the breaker lock", metadata: ["profile": "\(profile)", "error": "\(error)"])
        }
        await gate.broker.forget()
        let report = try? await LogoutService(profile: gate.profile, store: tokens, transport: transport, time: time).run(revoke: true)
        let revoked = report?.revocations.filter(\.revoked).map(\.token) ?? []
        await audit.recordOrWarn(
            "breaker_tripped",
            ["profile": .string(profile), "reason": .string(reason), "revoked": .string(revoked.joined(separator: ", "))])
        metrics.breakerTripped(profile: profile)
        logger.warning("breaker tripped; profile locked", metadata: ["profile": "\(profile)", "reason": "\(reason)"])
        await alerter.alert(
            "🔒 \(profile) was locked: \(reason). Its tokens were revoked. Run `devicegate unlock \(profile)` when it is safe.",
            about: gate.profile)
        offerUnlock(profile, reason: reason, at: now)
    }

    /// With an approver (the chat), the lock also comes with Unlock / Keep locked buttons, under
    /// the same rules as approvals: signed, single-use, only from the allowed people.
    private func offerUnlock(_ profile: String, reason: String, at now: Date) {
        guard approvals.approver != nil else { return }
        let request = ApprovalRequest(
            profile: profile, agent: "breaker", rule: "breaker", subject: .breakerLock(reason: reason), heldAt: now,
            expiresAt: now.addingTimeInterval(Self.unlockOfferLifetime))
        let approvals = self.approvals
        let locks = self.locks
        let audit = self.audit
        Task {
            let verdict = await approvals.hold(request)
            guard case .approved(let person, _) = verdict else { return }
            do {
                try await locks.lift(.locked, for: profile)
                await audit.recordOrWarn(
                    "unlocked",
                    ["profile": .string(profile), "by": .string("telegram"), "by_id": .string(person.id), "by_name": .string(person.name)])
                await approvals.conclude(request, verdict, result: "unlocked")
            } catch {
                await approvals.approver?.conclude(request, .unavailable(reason: "the lock could not be removed: \(error)"), result: nil)
            }
        }
    }

    /// How long the Unlock button works; `devicegate unlock` works any time.
    static let unlockOfferLifetime: TimeInterval = 24 * 3600
}
