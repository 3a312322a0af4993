import AsyncHTTPClient
import Foundation
import HTTPTypes
import NIOCore

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
        do { try await keeper.audit.record("request", admission.audit) } catch {
            keeper.logger.error("audit log unwritable; refusing", metadata: ["error": "\(error)"])
            throw Denial(
                status: .serviceUnavailable, error: "audit_unavailable", profile: name,
                reason: "the audit log cannot be written, so nothing is forwarded", audited: false)
        }
        let limited = body.map { ByteLimit($0, limit: keeper.config.maxRequestBytes) }
        var sent = [admission.entry.tokens.accessToken]
        do {
            var response = try await keeper.upstream.send(admission, body: admission.hasBody ? limited : nil)
            let chunked = admission.hasBody && admission.length == nil
            let replayable = [.get, .head, .options].contains(admission.method) && (admission.length ?? 0) == 0 && !chunked
            if response.status == .unauthorized, replayable {
                admission.entry = try await admission.gate.broker.entryAfterRejection(of: admission.entry.tokens.accessToken)
                sent.append(admission.entry.tokens.accessToken)
                admission.audit["refreshed"] = .bool(true)
                response = try await keeper.upstream.send(admission, body: nil as ByteLimit<Body>?)
                if response.status == .unauthorized { await keeper.trip(name, .upstreamRejection) }
            }
            return ForwardedResponse(
                response, profile: name, audit: admission.audit,
                redactor: TokenRedactor(variants: sent.map(keeper.tokenVariants.of)), keeper: keeper, started: started)
        } catch let error as BrokerError {
            throw Denial(status: .unauthorized, error: "sign_in_required", profile: name, reason: "\(error)")
        } catch {
            if let limited, limited.exceeded.withLockedValue({ $0 }) {
                throw Denial(
                    status: .contentTooLarge, error: "too_large", profile: name,
                    reason: "the body exceeds \(keeper.config.maxRequestBytes) bytes")
            }
            throw Denial(
                status: .badGateway, error: "upstream_unreachable", profile: name,
                reason: "the upstream did not answer: \(Self.plain(error))")
        }
    }

    static func plain(_ error: any Error) -> String {
        if let error = error as? HTTPClientError { return "\(error)" }
        return String(describing: error).split(separator: "\n").first.map(String.init) ?? "error"
    }
}
