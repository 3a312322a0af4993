#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The approval step, the same for every door: a call that an `approve` rule matched is shown
/// to a person through the ``Approver`` and waits for their answer, their 15-minute window, its
/// deadline, or its caller leaving. Every hold and every ending is audited with who decided
/// and how long it waited.
public struct ApprovalDesk: Sendable {
    public let approver: (any Approver)?
    public let held: HeldRequests
    public let windows: ApprovalWindows
    private let audit: AuditLog?
    private let time: any TimeSource

    /// - Parameter approver: nil when no person can be asked (no bot configured): held calls
    ///   are then refused at once with ``ApprovalVerdict/unavailable(reason:)``.
    public init(
        approver: (any Approver)?, held: HeldRequests, windows: ApprovalWindows = ApprovalWindows(), audit: AuditLog?, time: any TimeSource
    ) {
        self.approver = approver
        self.held = held
        self.windows = windows
        self.audit = audit
        self.time = time
    }

    /// Holds `request` until it is decided. Approved: the caller forwards, then calls
    /// ``conclude(_:_:result:)`` with what came of it. Anything else is concluded here: the
    /// message is edited and the caller only refuses.
    /// - Parameter onHold: called once the request waits (not for a window or without an
    ///   approver), e.g. to withdraw it when the caller hangs up.
    public func hold(_ request: ApprovalRequest, onHold: (@Sendable (ApprovalRequest) -> Void)? = nil) async -> ApprovalVerdict {
        var fields = Self.fields(request)
        if let until = await windows.covering(request, now: time.now()) {
            fields["outcome"] = .string("approved_by_window")
            fields["window_until"] = .string(InternetTime.string(until))
            await audit?.recordOrWarn("approval", fields)
            return .coveredByWindow(until: until)
        }
        guard let approver else {
            let verdict = ApprovalVerdict.unavailable(
                reason: "this call needs a person's approval, and no approver (a Telegram bot for `devicegate serve`) is configured")
            await record(request, verdict, fields)
            return verdict
        }
        await held.hold(request)
        onHold?(request)
        await audit?.recordOrWarn("approval_held", fields)
        do {
            // In a task of its own: a caller that leaves while the message is on its way must not
            // cut the send short, or the message would stand with live buttons and no way to
            // edit it. The wait below then ends at once as withdrawn, and the message is edited.
            try await Task { try await approver.present(request) }.value
        } catch {
            let verdict = ApprovalVerdict.unavailable(reason: "the approval message could not be sent: \(error)")
            await held.forget(request.id)
            await record(request, verdict, fields)
            return verdict
        }
        let verdict = await held.wait(for: request)
        if case .approved(_, true) = verdict {
            await windows.open(for: request, until: time.now().addingTimeInterval(ApprovalPolicy.window))
        }
        await record(request, verdict, fields)
        if !verdict.isApproved {
            // In a task of its own: a withdrawn caller's task is cancelled, and the edit must still go out.
            await Task { await approver.conclude(request, verdict, result: nil) }.value
        }
        return verdict
    }

    /// Tells the person what an approved call came to (the upstream's status, or that the token
    /// was handed out). Calls covered by a window have no message and are left alone.
    public func conclude(_ request: ApprovalRequest, _ verdict: ApprovalVerdict, result: String) async {
        guard case .approved = verdict, let approver else { return }
        await Task { await approver.conclude(request, verdict, result: result) }.value
    }

    private func record(_ request: ApprovalRequest, _ verdict: ApprovalVerdict, _ base: [String: AuditValue]) async {
        var fields = base
        fields["outcome"] = .string(verdict.auditName)
        fields["waited_ms"] = .int(max(0, Int(time.now().timeIntervalSince(request.heldAt) * 1000)))
        switch verdict {
        case .approved(let person, _), .denied(let person):
            fields["by_id"] = .string(person.id)
            fields["by_name"] = .string(person.name)
        case .unavailable(let reason):
            fields["reason"] = .string(reason)
        default:
            break
        }
        await audit?.recordOrWarn("approval", fields)
    }

    /// What every approval record names: the request, never a value of its query or body.
    static func fields(_ request: ApprovalRequest) -> [String: AuditValue] {
        var fields: [String: AuditValue] = [
            "approval_id": .string(request.id.text), "profile": .string(request.profile), "agent": .string(request.agent),
            "rule": .string(request.rule),
        ]
        switch request.subject {
        case .call(let call):
            fields["method"] = .string(call.method)
            fields["path"] = .string(call.path)
            fields["body_bytes"] = .int(call.bodySize)
            fields["body_sha256"] = .string(call.bodySHA256)
        case .rawToken(let requester):
            fields["raw_token_for"] = .string(requester)
        case .breakerLock(let reason):
            fields["lock_reason"] = .string(reason)
        }
        return fields
    }
}
