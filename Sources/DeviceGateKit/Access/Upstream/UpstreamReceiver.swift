import NIOCore
import NIOHTTP1

/// What one ``UpstreamExchange`` reports to the code that started it (the gateway's connection
/// handler, or the pool's own async adapter).
///
/// Every call happens on the exchange's event loop, in this order: `upstreamHead`,
/// `upstreamBody`*, `upstreamEnd` — or `upstreamFailed` at any point, after which nothing more
/// is called. `upstreamWritabilityChanged` may come in between while the request body is being
/// sent. A call may arrive while the caller is inside one of the exchange's methods (a write
/// that fails closes the connection at once), as with any NIO handler.
public protocol UpstreamReceiver: AnyObject {
    /// The response head, without 1xx interim answers; the pool never follows a redirect.
    func upstreamHead(_ head: HTTPResponseHead)
    /// A part of the response body, exactly as sent (never decompressed).
    func upstreamBody(_ buffer: ByteBuffer)
    /// The response is complete; the connection went back to the pool or was closed.
    func upstreamEnd()
    /// The exchange failed: connect refused or timed out, reset, read timeout, TLS, a
    /// malformed answer, or the pool shut down. The connection is closed.
    func upstreamFailed(_ error: UpstreamFailure)
    /// The upstream connection can (true) or cannot (false) take more of the request body
    /// without buffering: stop reading the agent on false, resume on true.
    func upstreamWritabilityChanged(_ writable: Bool)
}
