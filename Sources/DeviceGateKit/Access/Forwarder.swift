import HTTPTypes
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Sends an admitted call: recorded first (nothing acts unrecorded), then sent to the profile's
/// upstream with the token injected, refreshed and retried once on a 401 when the call can be
/// replayed, and handed back as a ``ForwardedResponse`` whose body the door streams.
///
/// A call an `approve` rule matched is held first: its body is read (within
/// `max_request_bytes`), shown to a person as size, SHA-256 and a masked preview, and only on
/// their approval sent, with exactly those bytes.
struct Forwarder: Sendable {
    let keeper: Gatekeeper

    func forward<Body>(
        _ admission: Admission, body: Body?, caller: (any CallerPresence)? = nil, started: ContinuousClock.Instant
    ) async throws(Denial) -> ForwardedResponse
    where Body: AsyncSequence & Sendable, Body.Element == ByteBuffer {
        guard let approvalRule = admission.approvalRule else { return try await send(admission, body: body, started: started) }
        return try await HeldCallForwarding(keeper: keeper, forwarder: self).forward(
            admission, rule: approvalRule, body: body, caller: caller, started: started)
    }

    /// Records the call, sends it, and builds the answer.
    func send<Body>(_ admission: Admission, body: Body?, started: ContinuousClock.Instant) async throws(Denial) -> ForwardedResponse
    where Body: AsyncSequence & Sendable, Body.Element == ByteBuffer {
        var admission = admission
        let name = admission.gate.profile.name
        let accepted = await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            keeper.recordRequest(admission) { continuation.resume(returning: $0) }
        }
        guard accepted else { throw Gatekeeper.auditUnavailable(name) }
        let limited = body.map { ByteLimit($0, limit: keeper.config.maxRequestBytes) }
        var sent = [admission.token]
        do {
            var response = try await keeper.upstream.send(admission, body: admission.hasBody ? limited : nil)
            if response.head.status == .unauthorized, admission.replayable {
                admission = try await admission.renewed()
                sent.append(admission.token)
                response = try await keeper.upstream.send(admission, body: nil as ByteLimit<Body>?)
                if response.head.status == .unauthorized { await keeper.trip(name, .upstreamRejection) }
            }
            return ForwardedResponse(
                response, profile: name, audit: admission.audit,
                redactor: keeper.redactor(for: sent), keeper: keeper, started: started)
        } catch {
            if let limited, limited.exceeded.withLockedValue({ $0 }) { throw Denial.tooLarge(name, limit: keeper.config.maxRequestBytes) }
            throw Denial.forwardingFailed(name, error)
        }
    }
}
