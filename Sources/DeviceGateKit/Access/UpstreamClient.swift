import NIOCore
import NIOHTTP1

/// The task path's side of the ``UpstreamPool``: sends an admitted call (its
/// ``Admission/upstreamHead()``, framed as the agent announced its body) to the gate's origin. The pool never
/// follows redirects (the token only reaches the profile's own origin) and never decompresses
/// (the answer is searched for the token byte for byte).
struct UpstreamClient: Sendable {
    let pool: UpstreamPool

    /// Sends an admitted call upstream with the token as its only credential.
    func send<Body>(_ admission: Admission, body: ByteLimit<Body>?) async throws -> UpstreamResponse {
        var head = admission.upstreamHead()
        // A retry after a 401 goes without the body (only bodiless calls are replayed).
        if body == nil { head.frameBody(present: false, length: nil) }
        return try await pool.send(head, body: body, to: admission.gate.origin)
    }
}
