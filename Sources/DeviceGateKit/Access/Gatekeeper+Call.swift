import HTTPTypes
import NIOCore

extension Gatekeeper {
    /// One call through the gate, whichever door it came in by: the ``AdmissionCore`` decides,
    /// a refusal is recorded and counted, an admitted call is forwarded.
    ///
    /// - Parameters:
    ///   - head: the request as the door parsed it; `path` is the origin-form target
    ///     `/PROFILE/path?query`.
    ///   - refusal: what the door found wrong below HTTP semantics (framing, target form).
    ///   - body: the agent's body, streamed; limited to `max_request_bytes` here.
    ///   - caller: tells when the caller hangs up, for a call held for approval; nil when the
    ///     door cannot tell (the call is then withdrawn only by cancelling its task).
    ///   - door: which door the call came in by (`mcp-http`, `mcp-stdio`), for the audit log;
    ///     nil for the HTTP gateway itself.
    ///   - found: what the door's own synchronous pass of the ``AdmissionCore`` already found
    ///     (so the rate limiter does not count the call twice).
    /// - Throws: the ``Denial`` to render, already recorded and counted.
    public func call<Body>(
        _ head: HTTPRequest, refusal: TransportRefusal? = nil, body: Body?, caller: (any CallerPresence)? = nil, door: String? = nil,
        found: AdmissionCore.Lookups = AdmissionCore.Lookups(), audit fields: [String: AuditValue]? = nil
    ) async throws(Denial) -> ForwardedResponse
    where Body: AsyncSequence & Sendable, Body.Element == ByteBuffer {
        let started = ContinuousClock.now
        var audit = fields ?? Self.auditFields(head, door: door)
        do {
            let admission = try await AdmissionCore(self).admit(head, refusal: refusal, audit: &audit, found: found)
            return try await Forwarder(keeper: self).forward(admission, body: body, caller: caller, started: started)
        } catch {
            await refused(error, audit: audit)
            throw error
        }
    }

    /// What every call's audit record starts with.
    public static func auditFields(_ head: HTTPRequest, door: String? = nil) -> [String: AuditValue] {
        var audit: [String: AuditValue] = ["method": .string(head.method.rawValue)]
        if let door { audit["door"] = .string(door) }
        return audit
    }
}
