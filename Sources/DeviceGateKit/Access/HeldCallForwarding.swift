import HTTPTypes
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The approval step of the forwarding path, for every door: read the body (it is what the
/// person sees, as size, SHA-256 and preview), hold the call at the ``ApprovalDesk``, and on
/// approval send exactly those bytes; then tell the person what the upstream answered.
struct HeldCallForwarding: Sendable {
    let keeper: Gatekeeper
    let forwarder: Forwarder

    func forward<Body>(
        _ admission: Admission, rule: PolicyRule, body: Body?, caller: (any CallerPresence)?, started: ContinuousClock.Instant
    ) async throws(Denial) -> ForwardedResponse
    where Body: AsyncSequence & Sendable, Body.Element == ByteBuffer {
        let name = admission.gate.profile.name
        let bytes = try await collect(body, profile: name)
        let settings = admission.gate.settings.approval
        let now = keeper.time.now()
        let call = HeldCall(
            method: admission.method.rawValue, path: admission.path, query: admission.query, body: Array(buffer: bytes),
            contentType: admission.contentType, preview: settings.preview)
        let request = ApprovalRequest(
            profile: name, agent: admission.agent, rule: rule.description, subject: .call(call), heldAt: now,
            expiresAt: now.addingTimeInterval(Double(settings.timeout)))
        let held = keeper.approvals.held
        let verdict = await keeper.approvals.hold(request) { request in
            caller?.whenGone { Task { await held.withdraw(request.id) } }
        }
        var approved = admission
        approved.audit["approval_id"] = .string(request.id.text)
        switch verdict {
        case .approved(let person, _):
            approved.audit["approved_by_id"] = .string(person.id)
            approved.audit["approved_by_name"] = .string(person.name)
        case .coveredByWindow:
            approved.audit["approved_by_window"] = .bool(true)
        case .denied:
            throw Denial(status: .forbidden, error: verdict.error, profile: name, reason: "the person denied this call")
        case .timedOut:
            throw Denial(
                status: .forbidden, error: verdict.error, profile: name,
                reason: "nobody approved this call within \(settings.timeout) seconds")
        case .withdrawn:
            throw Denial(status: .forbidden, error: verdict.error, profile: name, reason: "the call was withdrawn before a decision")
        case .unavailable(let reason):
            throw Denial(status: .serviceUnavailable, error: verdict.error, profile: name, reason: reason)
        }
        let desk = keeper.approvals
        do throws(Denial) {
            // The person may have taken minutes (approval_timeout can exceed the token's
            // remaining life): the token admission found is checked again, refreshed if stale.
            do { approved.entry = try await admission.gate.broker.validEntry() } catch {
                throw Denial(status: .unauthorized, error: "sign_in_required", profile: name, reason: "\(error)")
            }
            let response = try await forwarder.send(
                approved, body: admission.hasBody ? BufferedBody(bytes) : nil, started: started)
            let status = Int(response.status.code)
            Task { await desk.conclude(request, verdict, result: "the upstream answered \(status)") }
            return response
        } catch {
            Task { await desk.conclude(request, verdict, result: "not delivered: \(error.error) (\(error.status.code))") }
            throw error
        }
    }

    /// The whole body, within `max_request_bytes`.
    private func collect<Body>(_ body: Body?, profile: String) async throws(Denial) -> ByteBuffer
    where Body: AsyncSequence & Sendable, Body.Element == ByteBuffer {
        var collected = ByteBuffer()
        guard let body else { return collected }
        let limit = keeper.config.maxRequestBytes
        do {
            for try await var chunk in body {
                guard collected.readableBytes + chunk.readableBytes <= limit else {
                    throw Denial.tooLarge(profile, limit: limit)
                }
                collected.writeBuffer(&chunk)
            }
        } catch let denial as Denial {
            throw denial
        } catch {
            throw Denial(status: .badRequest, error: "bad_request", profile: profile, reason: "the body could not be read")
        }
        return collected
    }
}
