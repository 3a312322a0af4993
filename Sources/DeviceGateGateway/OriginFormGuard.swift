import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1

/// Marks requests whose target is not origin-form (`/path`).
///
/// HTTPTypes turns `GET http://evil.example/x` into a plain path `/x`, so by the time a request
/// reaches the responder an absolute-form or authority-form target can no longer be told apart.
/// This handler sits before that conversion, sees the raw target, and replaces any other form
/// with a marker header the responder refuses (400). An agent cannot forge the marker to any
/// effect: it can only get itself refused.
final class OriginFormGuard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    static let marker = "x-devicegate-refused-target"

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .head(var head) = unwrapInboundIn(data) else { return context.fireChannelRead(data) }
        head.headers.remove(name: Self.marker)
        if !head.uri.hasPrefix("/") {
            head.headers.add(name: Self.marker, value: head.uri.hasPrefix("*") ? "asterisk-form" : "absolute-form")
            head.uri = "/"
        }
        context.fireChannelRead(wrapInboundOut(.head(head)))
    }
}

/// Hummingbird's HTTP/1 channel with ``OriginFormGuard`` in front of its HTTPTypes codec.
struct GuardedHTTP1Channel: ServerChildChannel {
    typealias Value = HTTP1Channel.Value
    let inner: HTTP1Channel

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        inner.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let codec = try channel.pipeline.syncOperations.handler(type: HTTP1ToHTTPServerCodec.self)
            try channel.pipeline.syncOperations.addHandler(OriginFormGuard(), position: .before(codec))
            return value
        }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }

    static var builder: HTTPServerBuilder {
        HTTPServerBuilder { responder in GuardedHTTP1Channel(inner: HTTP1Channel(responder: responder)) }
    }
}
