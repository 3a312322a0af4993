#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The requests waiting for a person, by id: the one place a decision is taken, so that each
/// request is decided once (a second press, a replayed button, a press after the timeout all
/// find nothing) and none outlives its deadline.
///
/// Adapters only call ``decide(_:_:by:)`` after checking who pressed; the waiting side
/// (``ApprovalDesk``) calls ``hold(_:)`` and ``wait(for:)``.
public actor HeldRequests {
    private struct Entry {
        let request: ApprovalRequest
        var continuation: CheckedContinuation<ApprovalVerdict, Never>?
        var verdict: ApprovalVerdict?
    }

    private var entries: [HeldRequestID: Entry] = [:]
    private let time: any TimeSource

    /// - Parameter time: deadlines are read and waited for on it.
    public init(time: any TimeSource) {
        self.time = time
    }

    /// How many requests wait now (for `/status` and tests).
    public var count: Int { entries.count }

    /// The request `id` names, if it still waits for a decision.
    public func request(_ id: HeldRequestID) -> ApprovalRequest? {
        guard let entry = entries[id], entry.verdict == nil, time.now() < entry.request.expiresAt else { return nil }
        return entry.request
    }

    /// Registers a request before it is shown, so that a press arriving at once is not lost.
    public func hold(_ request: ApprovalRequest) {
        entries[request.id] = Entry(request: request)
    }

    /// The person's answer. Returns the request it decided, or nil when `id` names nothing that
    /// still waits: unknown, already decided, past its deadline.
    public func decide(_ id: HeldRequestID, _ answer: ApprovalAnswer, by person: ApprovalPerson) -> ApprovalRequest? {
        guard let request = request(id) else { return nil }
        let verdict: ApprovalVerdict =
            switch answer {
            case .approveOnce: .approved(by: person, forWindow: false)
            case .approveForWindow: .approved(by: person, forWindow: true)
            case .deny: .denied(by: person)
            }
        resolve(id, verdict)
        return request
    }

    /// The caller went away: the request ends as ``ApprovalVerdict/withdrawn`` unless decided.
    public func withdraw(_ id: HeldRequestID) {
        resolve(id, .withdrawn)
    }

    /// Forgets a request that could not be shown: nobody can decide it.
    func forget(_ id: HeldRequestID) {
        entries[id] = nil
    }

    /// Waits until the request is decided, times out, or the waiting task is cancelled
    /// (``ApprovalVerdict/withdrawn``). The request must have been ``hold(_:)``-ed.
    public func wait(for request: ApprovalRequest) async -> ApprovalVerdict {
        let id = request.id
        guard entries[id] != nil else { return .withdrawn }
        let time = self.time
        let timer = Task {
            do {
                try await time.sleep(seconds: max(0, request.expiresAt.timeIntervalSince(time.now())))
                self.resolve(id, .timedOut)
            } catch {
                // Cancelled: the request was decided first.
            }
        }
        let verdict = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<ApprovalVerdict, Never>) in
                attach(id, continuation)
            }
        } onCancel: {
            Task { await self.resolve(id, .withdrawn) }
        }
        timer.cancel()
        return verdict
    }

    private func attach(_ id: HeldRequestID, _ continuation: CheckedContinuation<ApprovalVerdict, Never>) {
        if let verdict = entries[id]?.verdict {
            entries[id] = nil
            continuation.resume(returning: verdict)
        } else if entries[id] != nil {
            entries[id]?.continuation = continuation
        } else {
            continuation.resume(returning: .withdrawn)
        }
    }

    /// The first verdict wins; later ones (a timer after a press, a press after a cancel) are dropped.
    private func resolve(_ id: HeldRequestID, _ verdict: ApprovalVerdict) {
        guard var entry = entries[id], entry.verdict == nil else { return }
        if let continuation = entry.continuation {
            entries[id] = nil
            continuation.resume(returning: verdict)
        } else {
            entry.verdict = verdict
            entries[id] = entry
        }
    }
}
