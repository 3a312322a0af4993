import NIOCore
import NIOHTTP1
import NIOTLS

/// One pooled upstream connection: the last handler of its pipeline (after TLS and the
/// HTTP/1.1 codec), running one ``UpstreamExchange`` at a time and deciding afterwards whether
/// the connection may carry another.
///
/// Response backpressure: with an exchange paused, the channel's `read` is held back here, so
/// the kernel's buffer fills and the upstream slows down. Read timeout: one timer per
/// connection, checked against the time of the last upstream byte, so a busy connection does
/// not reschedule a timer per read.
final class UpstreamConnection: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    let origin: UpstreamOrigin
    private let pool: UpstreamLoopPool
    private let tls: Bool
    private let readTimeout: TimeAmount
    private var context: ChannelHandlerContext?
    /// Connected, and for https the handshake is done.
    private var ready = false
    /// The exchange this new connection was opened for, until it is ready.
    private var waiting: UpstreamExchange?
    private(set) var exchange: UpstreamExchange?
    private(set) var isOpen = true
    private var requestEnded = false
    private var responseHead: HTTPResponseHead?
    private var paused = false
    private var readPending = false
    /// The read timeout runs (the request is sent or the answer has begun).
    private var timing = false
    private var lastActivity = NIODeadline.now()
    private var timer: Scheduled<Void>?
    /// When the connection went back to the pool, for the idle timeout.
    var idleSince = NIODeadline.now()

    init(origin: UpstreamOrigin, pool: UpstreamLoopPool, tls: Bool, readTimeout: TimeAmount) {
        self.origin = origin
        self.pool = pool
        self.tls = tls
        self.readTimeout = readTimeout
    }

    var isWritable: Bool { context?.channel.isWritable ?? false }
    var isUsable: Bool { isOpen && ready && exchange == nil && (context?.channel.isActive ?? false) }
    var closeFuture: EventLoopFuture<Void>? { context?.channel.closeFuture }

    // MARK: Exchanges

    /// Takes the exchange this new connection was opened for; starts it once ready.
    func adopt(_ exchange: UpstreamExchange) {
        if ready {
            start(exchange, reused: false, notify: true)
        } else {
            waiting = exchange
            exchange.pendingConnection = self
        }
    }

    /// Writes the exchange's head (and whatever body it already has) on this connection.
    func start(_ exchange: UpstreamExchange, reused: Bool, notify: Bool) {
        guard let context, isOpen else {
            exchange.fail(.closedEarly)
            return
        }
        self.exchange = exchange
        exchange.connection = self
        exchange.pendingConnection = nil
        exchange.phase = .active
        exchange.reused = reused
        exchange.connectDeadline?.cancel()
        exchange.connectDeadline = nil
        requestEnded = false
        responseHead = nil
        timing = false
        paused = exchange.paused
        context.write(wrapOutboundOut(.head(exchange.head)), promise: nil)
        while let part = exchange.pending.popFirst() {
            exchange.bodyWritten = true
            context.write(wrapOutboundOut(.body(.byteBuffer(part))), promise: nil)
        }
        if exchange.endRequested {
            requestEnded = true
            context.write(wrapOutboundOut(.end(nil)), promise: nil)
            armReadTimer()
        }
        context.flush()
        guard self.exchange === exchange else { return }
        if notify {
            exchange.reportWritability()
        } else {
            exchange.reportedWritable = exchange.isWritable
        }
    }

    func writeBody(_ buffer: ByteBuffer) {
        context?.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
    }

    func writeEnd() {
        requestEnded = true
        armReadTimer()
        context?.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func setPaused(_ paused: Bool) {
        self.paused = paused
        guard !paused else { return }
        lastActivity = .now()
        if readPending, let context {
            readPending = false
            context.read()
        }
    }

    /// Closes the connection without reporting anything (the exchange is already finished).
    func abandon() {
        exchange = nil
        waiting = nil
        close()
    }

    /// The pool is shutting down: the exchange, if any, fails; the connection closes.
    func shutDown() {
        let current = exchange ?? waiting
        abandon()
        current?.fail(.shutDown)
    }

    private func close() {
        timer?.cancel()
        timer = nil
        guard isOpen, let context else { return }
        context.close(promise: nil)
    }

    /// Forgets the exchange and lets the connection read again (to notice a close while idle).
    private func detach() {
        exchange = nil
        timing = false
        paused = false
        if readPending, let context, isOpen {
            readPending = false
            context.read()
        }
    }

    private func complete() {
        guard let exchange, let response = responseHead else { return }
        let reusable =
            requestEnded && exchange.head.version == .http1_1 && response.version == .http1_1 && exchange.head.isKeepAlive
            && response.isKeepAlive && Self.framed(response, method: exchange.head.method)
        detach()
        let receiver = exchange.finish()
        if reusable { pool.release(self) } else { close() }
        receiver?.upstreamEnd()
    }

    /// Whether the response's end was marked by its framing rather than by closing the
    /// connection; a response read until close leaves nothing to reuse.
    static func framed(_ response: HTTPResponseHead, method: HTTPMethod) -> Bool {
        if method == .HEAD { return true }
        switch response.status.code {
        case 100..<200, 204, 304: return true
        default: break
        }
        if response.headers.contains(name: "content-length") { return true }
        return response.headers["transfer-encoding"].contains { $0.lowercased().contains("chunked") }
    }

    private func failExchange(_ error: any Error) {
        guard let exchange else { return }
        let failure = UpstreamFailure.from(error)
        detach()
        close()
        // A reused connection the upstream had already closed: the request never reached it,
        // so it is sent once more on a fresh connection. Only without a response byte and
        // before any body byte went out, so nothing is sent twice that the upstream read.
        if exchange.reused, !exchange.retried, responseHead == nil, !exchange.bodyWritten, failure.kind == .closed {
            exchange.retried = true
            exchange.reused = false
            exchange.connection = nil
            exchange.phase = .connecting
            pool.connect(exchange)
            return
        }
        exchange.connection = nil
        exchange.fail(failure)
    }

    // MARK: Read timeout

    private func armReadTimer() {
        lastActivity = .now()
        timing = true
        if timer == nil { schedule(at: lastActivity + readTimeout) }
    }

    private func schedule(at deadline: NIODeadline) {
        guard let context else { return }
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in self?.timerFired() }
    }

    private func timerFired() {
        timer = nil
        guard timing, isOpen, exchange != nil else { return }
        let now = NIODeadline.now()
        if paused { return schedule(at: now + readTimeout) }
        let due = lastActivity + readTimeout
        guard due <= now else { return schedule(at: due) }
        let seconds = readTimeout.nanoseconds / 1_000_000_000
        failExchange(UpstreamFailure(.timeout, "the upstream sent nothing for \(seconds) s (read timeout)"))
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if !tls, context.channel.isActive { becameReady() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        if !tls { becameReady() }
        context.fireChannelActive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event { becameReady() }
        context.fireUserInboundEventTriggered(event)
    }

    private func becameReady() {
        guard !ready else { return }
        ready = true
        guard let waiting else { return }
        self.waiting = nil
        waiting.pendingConnection = nil
        guard waiting.phase == .connecting else { return close() }
        start(waiting, reused: false, notify: true)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastActivity = .now()
        guard let exchange else {
            // Bytes nobody asked for on an idle connection: its framing cannot be trusted.
            return close()
        }
        switch unwrapInboundIn(data) {
        case .head(let head):
            guard head.status != .switchingProtocols else {
                return failExchange(UpstreamFailure(.malformed, "the upstream switched protocols, which is not relayed"))
            }
            responseHead = head
            if !timing { armReadTimer() }
            exchange.receiver?.upstreamHead(head)
        case .body(let buffer):
            exchange.receiver?.upstreamBody(buffer)
        case .end:
            complete()
        }
    }

    func read(context: ChannelHandlerContext) {
        if paused {
            readPending = true
        } else {
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        exchange?.reportWritability()
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if exchange != nil {
            failExchange(error)
        } else if let waiting {
            self.waiting = nil
            waiting.pendingConnection = nil
            waiting.fail(.from(error))
        }
        close()
    }

    func channelInactive(context: ChannelHandlerContext) {
        isOpen = false
        timer?.cancel()
        timer = nil
        pool.forget(self)
        if exchange != nil {
            failExchange(UpstreamFailure.closedEarly)
        } else if let waiting {
            self.waiting = nil
            waiting.pendingConnection = nil
            waiting.fail(.closedEarly)
        }
        context.fireChannelInactive()
    }
}
