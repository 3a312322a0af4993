import NIOCore
import NIOHTTP1

/// One request and its response on a pooled upstream connection. Loop-bound: use it only on
/// ``eventLoop``, the loop ``UpstreamPool/start(_:to:on:receiver:)`` was called on, which is
/// also the connection's, so no byte changes threads between the agent and the upstream.
///
/// The request body is sent with ``sendBody(_:)`` (parts given before the connection is ready
/// are kept until it is) and completed with ``endBody()``, also when there is no body.
public final class UpstreamExchange {
    enum Phase {
        /// Waiting for a new connection (TCP and, for https, the TLS handshake).
        case connecting
        /// The head is written on `connection`.
        case active
        /// Ended, failed or cancelled: nothing more is reported.
        case done
    }

    public let eventLoop: any EventLoop
    let origin: UpstreamOrigin
    let head: HTTPRequestHead
    let framing: UpstreamRequestFraming
    /// Body bytes given so far, checked against `framing`.
    var bodyBytes = 0
    var receiver: (any UpstreamReceiver)?
    var phase = Phase.connecting
    var connection: UpstreamConnection?
    /// The new connection being set up for this exchange, so a timeout or cancel can close it.
    var pendingConnection: UpstreamConnection?
    var connectDeadline: Scheduled<Void>?
    /// Body parts given while connecting.
    var pending = CircularBuffer<ByteBuffer>()
    var endRequested = false
    /// A body byte went out on a connection: the request can no longer be replayed.
    var bodyWritten = false
    /// The current connection came from the idle pool (a stale one may fail at once).
    var reused = false
    var retried = false
    var paused = false
    var reportedWritable = false

    init(eventLoop: any EventLoop, origin: UpstreamOrigin, head: HTTPRequestHead, receiver: any UpstreamReceiver) {
        self.eventLoop = eventLoop
        self.origin = origin
        self.head = head
        self.framing = UpstreamRequestFraming(head)
        self.receiver = receiver
    }

    /// Whether the upstream connection takes more body now without buffering; false while
    /// connecting. ``UpstreamReceiver/upstreamWritabilityChanged(_:)`` reports changes.
    public var isWritable: Bool {
        eventLoop.assertInEventLoop()
        return phase == .active && (connection?.isWritable ?? false)
    }

    /// Sends one part of the request body (after the pool's `start`, before ``endBody()``).
    /// Bytes the head does not frame (no `Content-Length` or chunking, or past the announced
    /// length) are not sent: the exchange fails and its connection closes.
    public func sendBody(_ buffer: ByteBuffer) {
        eventLoop.assertInEventLoop()
        guard phase != .done, !endRequested, buffer.readableBytes > 0 else { return }
        bodyBytes += buffer.readableBytes
        switch framing {
        case .chunked: break
        case .length(let length) where bodyBytes <= length: break
        case .length: return fail(UpstreamFailure(.requestBody, "the request body is longer than its Content-Length"))
        case .none, .invalid:
            return fail(UpstreamFailure(.requestBody, "a request body needs a Content-Length or chunked framing"))
        }
        if phase == .active, let connection {
            bodyWritten = true
            connection.writeBody(buffer)
        } else {
            pending.append(buffer)
        }
    }

    /// The request is complete; call it for bodiless requests too.
    public func endBody() {
        eventLoop.assertInEventLoop()
        guard phase != .done, !endRequested else { return }
        if case .length(let length) = framing, bodyBytes != length {
            return fail(UpstreamFailure(.requestBody, "the request body is shorter than its Content-Length"))
        }
        endRequested = true
        if phase == .active, let connection { connection.writeEnd() }
    }

    /// Stops reading the upstream until ``resumeResponse()``: the response's backpressure.
    public func pauseResponse() {
        eventLoop.assertInEventLoop()
        guard !paused else { return }
        paused = true
        if phase == .active { connection?.setPaused(true) }
    }

    public func resumeResponse() {
        eventLoop.assertInEventLoop()
        guard paused else { return }
        paused = false
        if phase == .active { connection?.setPaused(false) }
    }

    /// The caller is gone: the connection is closed (never reused, since the upstream may still
    /// be sending) and nothing more is reported.
    public func cancel() {
        eventLoop.assertInEventLoop()
        guard phase != .done else { return }
        let (current, setting) = (connection, pendingConnection)
        finish()
        current?.abandon()
        setting?.abandon()
    }

    /// Ends the exchange and breaks every reference cycle; returns who was to be told.
    @discardableResult
    func finish() -> (any UpstreamReceiver)? {
        let receiver = self.receiver
        phase = .done
        self.receiver = nil
        connection = nil
        pendingConnection = nil
        connectDeadline?.cancel()
        connectDeadline = nil
        pending.removeAll()
        return receiver
    }

    /// Reports a failure once; the caller has already closed or dropped the connection.
    func fail(_ failure: UpstreamFailure) {
        guard phase != .done else { return }
        let (current, setting) = (connection, pendingConnection)
        let receiver = finish()
        current?.abandon()
        setting?.abandon()
        receiver?.upstreamFailed(failure)
    }

    /// Tells the receiver about a writability change, once per change.
    func reportWritability() {
        let writable = isWritable
        guard writable != reportedWritable, phase != .done else { return }
        reportedWritable = writable
        receiver?.upstreamWritabilityChanged(writable)
    }
}
