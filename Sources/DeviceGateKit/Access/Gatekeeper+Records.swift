import HTTPTypes

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A forwarded call whose answer is on its way to the agent: what its `response` audit record
/// and its metrics say once the body has been relayed.
public struct AnsweredCall: Sendable {
    let profile: String
    let base: [String: AuditValue]
    let status: Int
    let started: ContinuousClock.Instant

    /// - Parameters:
    ///   - audit: the call's `request` record fields (agent, profile, path, rule, …).
    ///   - head: the answer's head as the agent sees it (its status, the headers it dropped).
    public init(profile: String, audit: [String: AuditValue], head: AnswerHead, started: ContinuousClock.Instant) {
        var entry = audit
        entry["status"] = .int(Int(head.status.code))
        if !head.dropped.isEmpty { entry["dropped_headers"] = .string(head.dropped.joined(separator: ",")) }
        self.profile = profile
        self.base = entry
        self.status = Int(head.status.code)
        self.started = started
    }
}

/// The records every door writes the same way, in forms an event loop can call without
/// suspending: the writer is told now and reports back later (``AuditLog/submit(_:_:durable:done:)``).
extension Gatekeeper {
    /// Hands the call's `request` record to the audit writer; `accepted` learns whether it was
    /// written. Nothing is forwarded before it is: on failure the door answers 503
    /// `audit_unavailable` (``auditUnavailable(_:)``).
    public func recordRequest(_ admission: Admission, accepted: @escaping @Sendable (Bool) -> Void) {
        let logger = self.logger
        audit.submit("request", admission.audit) { result in
            if case .failure(let error) = result {
                logger.error("audit log unwritable; refusing", metadata: ["error": "\(error)"])
                accepted(false)
            } else {
                accepted(true)
            }
        }
    }

    /// The refusal when the `request` record could not be written.
    public static func auditUnavailable(_ profile: String) -> Denial {
        Denial(
            status: .serviceUnavailable, error: "audit_unavailable", profile: profile,
            reason: "the audit log cannot be written, so nothing is forwarded", audited: false)
    }

    /// Records (when it is to be recorded) and counts a refusal; `then` runs once the record is
    /// written or has failed, so the door answers after it.
    public func refused(_ denial: Denial, audit fields: [String: AuditValue], then: @escaping @Sendable () -> Void) {
        metrics.countRequest(profile: denial.profile, outcome: denial.error, status: Int(denial.status.code))
        guard denial.audited else { return then() }
        var fields = fields
        fields["status"] = .int(Int(denial.status.code))
        fields["reason"] = .string(denial.reason)
        audit.submit("denied", fields) { _ in then() }
    }

    /// Records (when it is to be recorded) and counts a refusal, before the door answers it.
    public func refused(_ denial: Denial, audit fields: [String: AuditValue]) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            refused(denial, audit: fields) { continuation.resume() }
        }
    }

    /// The `response` record and the metrics of a call whose answer was relayed (`forwarded`) or
    /// cut off (`aborted`): bytes, duration, redactions. The record is handed to the writer; the
    /// agent already has the answer.
    public func answered(_ call: AnsweredCall, bytes: Int, redactions: Int, outcome: String) {
        var entry = call.base
        let duration = ContinuousClock.now - call.started
        entry["bytes"] = .int(bytes)
        entry["duration_ms"] = .double(Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15)
        if outcome != "forwarded" { entry["outcome"] = .string(outcome) }
        if redactions > 0 { entry["redacted"] = .int(redactions) }
        audit.submit("response", entry) { _ in }
        metrics.countRequest(profile: call.profile, outcome: outcome, status: call.status)
        metrics.observe(profile: call.profile, duration: duration, bytes: bytes)
        logger.debug(
            "proxied",
            metadata: ["profile": "\(call.profile)", "status": "\(call.status)", "bytes": "\(bytes)", "outcome": "\(outcome)"])
    }

    /// What keeps every token sent on a call out of its answer.
    public func redactor(for sent: [Secret]) -> TokenRedactor { TokenRedactor(variants: sent.map(tokenVariants.of)) }

    /// The upstream rejected a freshly refreshed token too: a sign for the breaker. Runs on its
    /// own; the door answers the 401 meanwhile.
    public func rejectedAfterRefresh(_ profile: String) {
        Task { await trip(profile, .upstreamRejection) }
    }
}
