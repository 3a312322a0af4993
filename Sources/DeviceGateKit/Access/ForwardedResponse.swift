import HTTPTypes
import NIOCore
import NIOHTTP1

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
    private let body: UpstreamResponseBody
    private let redactor: TokenRedactor
    private let finished: @Sendable (_ bytes: Int, _ redactions: Int, _ outcome: String) -> Void

    init(
        _ response: UpstreamResponse, profile: String, audit fields: [String: AuditValue], redactor: TokenRedactor,
        keeper: Gatekeeper, started: ContinuousClock.Instant
    ) {
        let head = AnswerHead(
            status: Int(response.head.status.code), reasonPhrase: response.head.status.reasonPhrase, headers: response.head.headers,
            redactor: redactor)
        let call = AnsweredCall(profile: profile, audit: fields, head: head, started: started)
        self.status = head.status
        self.headers = head.headers
        self.contentLength = head.contentLength
        self.body = response.body
        self.redactor = redactor
        self.finished = { bytes, redactions, outcome in
            keeper.answered(call, bytes: bytes, redactions: redactions, outcome: outcome)
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
            finished(bytes, redactor.redactions, "aborted")
            throw error
        }
        finished(bytes, redactor.redactions, "forwarded")
    }
}
