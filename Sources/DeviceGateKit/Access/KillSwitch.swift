#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The person's emergency brake, pulled from the chat: freeze a profile (every gateway call
/// answers 423 `frozen` at once, `token` and `exec` refuse), lift it again, or kill it (revoke
/// at the provider, wipe the stored tokens, and freeze). Freezes live beside the breaker's locks
/// (``ProfileHoldKind/frozen``), written through the same ``LockCache`` the gateway reads, so a
/// freeze in the process that serves takes effect on the very next call.
public struct KillSwitch: Sendable {
    let store: any ProfileStore
    let locks: LockCache
    let windows: ApprovalWindows?
    let transport: any HTTPTransport
    let time: any TimeSource
    let audit: AuditLog?

    /// - Parameters:
    ///   - locks: the gateway's cache when the bot runs inside `serve`; a fresh one otherwise.
    ///   - windows: open "approve for 15 minutes" windows, closed by a freeze.
    public init(
        store: any ProfileStore, locks: LockCache, windows: ApprovalWindows?, transport: any HTTPTransport, time: any TimeSource,
        audit: AuditLog?
    ) {
        self.store = store
        self.locks = locks
        self.windows = windows
        self.transport = transport
        self.time = time
        self.audit = audit
    }

    /// Freezes `profile`; `by` names who, for the reason and the audit record.
    public func freeze(_ profile: String, by who: String, actor: [String: AuditValue]) async throws {
        let now = time.now()
        try await locks.place(.frozen, ProfileLock(profile: profile, reason: "frozen by \(who)", lockedAt: now))
        await windows?.close(profile: profile)
        await audit?.recordOrWarn("frozen", actor.merging(["profile": .string(profile)]) { _, new in new })
    }

    /// Lifts a freeze. Returns whether the profile was frozen.
    @discardableResult
    public func unfreeze(_ profile: String, actor: [String: AuditValue]) async throws -> Bool {
        let was = try await locks.lift(.frozen, for: profile)
        if was { await audit?.recordOrWarn("unfrozen", actor.merging(["profile": .string(profile)]) { _, new in new }) }
        return was
    }

    /// Freezes first (nothing more goes out), then revokes at the provider and wipes the stored
    /// tokens. The receipt says what was revoked and what could not be.
    public func kill(_ profile: Profile, by who: String, actor: [String: AuditValue]) async throws -> LogoutService.Report {
        try await freeze(profile.name, by: who, actor: actor)
        let report = try await LogoutService(
            profile: profile, store: store, transport: transport, time: time, audit: audit, actor: actor
        ).run(revoke: true)
        await audit?.recordOrWarn(
            "killed",
            actor.merging([
                "profile": .string(profile.name),
                "revoked": .string(report.revocations.filter(\.revoked).map(\.token).joined(separator: ", ")),
            ]) { _, new in new })
        return report
    }
}
