import NIOCore

/// Notices an agent hanging up. The server allows half-closure (a client may send its request
/// and shut its side), so a hang-up first shows as `inputClosed`, not as a closed channel; a
/// call held for approval is withdrawn on either. A client that half-closes and keeps reading
/// is rare for HTTP; its held calls are withdrawn too, the safe side.
final class HangUpWatch: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = NIOAny

    /// Completes when the agent's side is gone.
    let gone: EventLoopPromise<Void>

    init(eventLoop: any EventLoop) {
        gone = eventLoop.makePromise()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed? = event as? ChannelEvent { gone.succeed() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        gone.succeed()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        gone.succeed()
    }
}
