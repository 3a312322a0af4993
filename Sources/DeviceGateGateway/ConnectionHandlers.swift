import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// Closes a connection whose request head does not arrive in time: a client trickling header
/// bytes (slowloris) would otherwise hold a connection, and its memory, for ever. The clock
/// starts when the connection opens and stops when the first complete head has been read;
/// after that the idle timeout (Hummingbird's, which counts only complete request parts as
/// activity) bounds a keep-alive connection that trickles its next head.
final class HeaderReadTimeout: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount) { self.timeout = timeout }

    func handlerAdded(context: ChannelHandlerContext) { arm(context) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            timer?.cancel()
            timer = nil
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    private func arm(_ context: ChannelHandlerContext) {
        timer?.cancel()
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: timeout) {
            loopBound.value.close(promise: nil)
        }
    }
}

/// A cap on concurrent agent connections, shared by every connection of one listener: past it
/// a connection's request is answered 503 and the connection closed, so a flood of sockets
/// cannot make the gateway hold more upstream calls and buffers than it was sized for.
final class ConnectionLimit: Sendable {
    let maximum: Int
    private let open = NIOLockedValueBox(0)

    init(maximum: Int) { self.maximum = maximum }

    func enter() -> Bool {
        open.withLockedValue {
            guard $0 < maximum else { return false }
            $0 += 1
            return true
        }
    }

    func leave() { open.withLockedValue { $0 -= 1 } }
}
