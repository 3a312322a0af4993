import AsyncHTTPClient
import HTTPTypes
import NIOCore

/// An upstream's answer on its way back to the agent: the head, already without the token and
/// without what may not cross, and a body the door streams through ``relay(_:end:)``, which
/// keeps the token out of it and records how the call ended.
public struct ForwardedResponse: Sendable {
    /// The upstream's status; its reason phrase is dropped if it carried the token.
    public let status: HTTPResponse.Status
    /// The headers that may reach the agent (no hop-by-hop, no cookies, none carrying the token).
    public let headers: HTTPFields
    /// The upstream's announced length; redaction keeps it true (same-length overwrite).
    public let contentLength: Int?
    private let body: HTTPClientResponse.Body
    private let redactor: TokenRedactor
    private let finished: @Sendable (_ bytes: Int, _ redactions: Int, _ outcome: String) async -> Void

    init(
        _ response: HTTPClientResponse, profile: String, audit fields: [String: AuditValue], redactor: TokenRedactor,
        keeper: Gatekeeper, started: ContinuousClock.Instant
    ) {
        var headers = HTTPFields()
        let listedNames = HeaderRules.connectionListed(response.headers["connection"])
        var length: Int?
        var dropped: [String] = []
        for (name, value) in response.headers {
            let lower = name.lowercased()
            if lower == "content-length" {
                length = Int(value)
                continue
            }
            guard HeaderRules.forwardable(lower, listed: listedNames, fromAgent: false), let field = HTTPField.Name(name) else { continue }
            if redactor.contains(value) {
                dropped.append(lower)
                continue
            }
            headers.append(HTTPField(name: field, value: value))
        }
        let status = Int(response.status.code)
        let phrase = redactor.contains(response.status.reasonPhrase) ? "" : response.status.reasonPhrase
        var entry = fields
        entry["status"] = .int(status)
        if !dropped.isEmpty { entry["dropped_headers"] = .string(dropped.joined(separator: ",")) }
        let base = entry
        self.status = .init(code: status, reasonPhrase: phrase)
        self.headers = headers
        self.contentLength = length
        self.body = response.body
        self.redactor = redactor
        self.finished = { bytes, redactions, outcome in
            var entry = base
            entry["bytes"] = .int(bytes)
            entry["duration_ms"] = .double(Self.milliseconds(ContinuousClock.now - started))
            if outcome != "forwarded" { entry["outcome"] = .string(outcome) }
            if redactions > 0 { entry["redacted"] = .int(redactions) }
            try? await keeper.audit.record("response", entry)
            keeper.metrics.countRequest(profile: profile, outcome: outcome, status: status)
            keeper.metrics.observe(profile: profile, duration: ContinuousClock.now - started, bytes: bytes)
            keeper.logger.debug(
                "proxied", metadata: ["profile": "\(profile)", "status": "\(status)", "bytes": "\(bytes)", "outcome": "\(outcome)"])
        }
    }

    /// Streams the body through `write` with every copy of the token overwritten, runs `end`,
    /// then records the `response` audit record (bytes, duration, redactions, and `aborted` if
    /// either side failed). Call it exactly once: until it runs, the call is not recorded as
    /// answered.
    public func relay(_ write: (ByteBuffer) async throws -> Void, end: () async throws -> Void = {}) async throws {
        var bytes = 0
        var redactor = redactor
        do {
            for try await chunk in body {
                bytes += chunk.readableBytes
                let safe = redactor.feed(chunk.readableBytesView)
                if !safe.isEmpty { try await write(ByteBuffer(bytes: safe)) }
            }
            let rest = redactor.finish()
            if !rest.isEmpty { try await write(ByteBuffer(bytes: rest)) }
            try await end()
        } catch {
            await finished(bytes, redactor.redactions, "aborted")
            throw error
        }
        await finished(bytes, redactor.redactions, "forwarded")
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }
}
