import AsyncHTTPClient
import DeviceGateKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The gateway's HTTP door: the ``AdmissionCore`` decides, then the call is recorded, sent to
/// the profile's upstream with the token injected (one refresh and retry on a 401), and the
/// answer is streamed back with the token kept out of it.
public struct GatewayResponder: HTTPResponder {
    public typealias Context = GatewayContext

    let state: GatewayState
    let core: AdmissionCore

    init(state: GatewayState) {
        self.state = state
        self.core = AdmissionCore(state: state)
    }

    public func respond(to request: Request, context: GatewayContext) async throws -> Response {
        let started = ContinuousClock.now
        var audit: [String: AuditValue] = ["method": .string(request.method.rawValue)]
        var head = request.head
        let refusal = RequestHeadGuard.refusal(taking: &head.headerFields)
        do {
            let admission = try await core.admit(head, refusal: refusal, audit: &audit)
            return try await forward(admission, body: request.body, started: started)
        } catch {
            if error.audited {
                audit["status"] = .int(Int(error.status.code))
                audit["reason"] = .string(error.reason)
                try? await state.audit.record("denied", audit)
            }
            state.count(profile: error.profile, outcome: error.error, status: Int(error.status.code))
            return error.response()
        }
    }

    private func forward(_ admission: Admission, body: RequestBody, started: ContinuousClock.Instant) async throws(Denial) -> Response {
        var admission = admission
        let name = admission.gate.profile.name
        // Nothing acts unrecorded.
        do { try await state.audit.record("request", admission.audit) } catch {
            state.logger.error("audit log unwritable; refusing", metadata: ["error": "\(error)"])
            throw Denial(
                status: .serviceUnavailable, error: "audit_unavailable", profile: name,
                reason: "the audit log cannot be written, so nothing is forwarded", audited: false)
        }
        let limited = ByteLimit(body, limit: state.config.maxRequestBytes)
        var sent = [admission.entry.tokens.accessToken]
        do {
            var response = try await state.upstream.send(admission, body: admission.hasBody ? limited : nil)
            let chunked = admission.hasBody && admission.length == nil
            let replayable = [.get, .head, .options].contains(admission.method) && (admission.length ?? 0) == 0 && !chunked
            if response.status == .unauthorized, replayable {
                admission.entry = try await admission.gate.broker.entryAfterRejection(of: admission.entry.tokens.accessToken)
                sent.append(admission.entry.tokens.accessToken)
                admission.audit["refreshed"] = .bool(true)
                response = try await state.upstream.send(admission, body: nil)
                if response.status == .unauthorized { await state.trip(name, .upstreamRejection) }
            }
            return state.relay(
                response, profile: name, audit: admission.audit, redactor: TokenRedactor(variants: sent.map(state.tokenVariants.of)),
                started: started)
        } catch let error as BrokerError {
            throw Denial(status: .unauthorized, error: "sign_in_required", profile: name, reason: "\(error)")
        } catch {
            if limited.exceeded.withLockedValue({ $0 }) {
                throw Denial(
                    status: .contentTooLarge, error: "too_large", profile: name,
                    reason: "the body exceeds \(state.config.maxRequestBytes) bytes")
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
