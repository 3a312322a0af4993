import DeviceGateKit
import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// One agent connection on the gateway's listener, one request at a time (the HTTP/1 pipeline
/// handler before it holds pipelined requests back until the answer before them is written).
///
/// Each request is decided by the ``AdmissionCore``'s synchronous pass right here, on the
/// connection's event loop. What the pass cannot decide alone (a hold to read from the store, a
/// rate limit a shared store counts, a token to refresh, a person's approval) and the mounted
/// endpoints (`/mcp`) run as one task per request, the ``AgentCall``, which writes its answer
/// back through the channel; the request body reaches it as a ``RequestBodyStream``, read from
/// the socket only as fast as the call consumes it.
final class AgentConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let keeper: Gatekeeper
    private let endpoints: [any GatewayEndpoint]
    private var context: ChannelHandlerContext?

    /// The request being answered, if any.
    private var call: Call?
    /// Reads held back until the call wants more of the body.
    private var readsPaused = false
    private var readPending = false

    private struct Call {
        /// Feeds the body to the task; nil once the body ended or nobody reads it.
        var body: RequestBodyStream.Source?
        var task: Task<Void, Never>?
        var requestEnded = false
        var responseEnded = false
        /// The agent or the answer said `Connection: close`.
        var closes = false
    }

    init(keeper: Gatekeeper, endpoints: [any GatewayEndpoint]) {
        self.keeper = keeper
        self.endpoints = endpoints
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    // MARK: Reading the request

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(var head):
            guard call == nil else {
                // The pipeline handler never lets a second head through before the first answer.
                context.close(promise: nil)
                return
            }
            let refusal = RequestHeadGuard.refusal(taking: &head.headerFields)
            var call = Call()
            call.closes = Self.saysClose(head.headerFields)
            let (stream, source) = streamForBody(context)
            call.body = source
            let path = head.path.map { String($0.prefix { $0 != "?" }) }
            let agentCall = AgentCall(keeper: keeper, channel: context.channel)
            if let endpoint = endpoints.first(where: { $0.path == path }) {
                call.task = Task { await agentCall.serve(endpoint, head: head, refusal: refusal, body: stream) }
            } else {
                call.task = Task { await agentCall.answer(head, refusal: refusal, body: stream) }
            }
            self.call = call
        case .body(let buffer):
            guard let source = call?.body else { return }  // nobody reads it: dropped
            if source.yield(buffer) == .stopProducing { readsPaused = true }
        case .end:
            call?.body?.finish()
            call?.body = nil
            call?.requestEnded = true
            if call?.responseEnded == true { finishCall(context) }
        }
    }

    private func streamForBody(_ context: ChannelHandlerContext) -> (sequence: RequestBodyStream, source: RequestBodyStream.Source) {
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let made = RequestBodyDemand.stream(
            on: context.eventLoop,
            resume: { loopBound.value.resumeReads() },
            abandoned: {
                // The call no longer reads the body (answered, or refused before reading it):
                // what is left is read and dropped, so the connection can serve the next request.
                loopBound.value.call?.body = nil
                loopBound.value.resumeReads()
            })
        return (made.sequence, made.source)
    }

    func read(context: ChannelHandlerContext) {
        if readsPaused {
            readPending = true
        } else {
            context.read()
        }
    }

    private func resumeReads() {
        readsPaused = false
        if readPending, let context {
            readPending = false
            context.read()
        }
    }

    // MARK: Writing the answer

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            if Self.saysClose(head.headerFields) { call?.closes = true }
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            context.write(data, promise: promise)
            call?.responseEnded = true
            if call?.closes == true {
                context.flush()
                context.close(promise: nil)
            } else if call?.requestEnded == true {
                finishCall(context)
            } else {
                // Answered before the whole body arrived (a refusal): read the rest and drop it.
                call?.body?.finish()
                call?.body = nil
                resumeReads()
            }
        }
    }

    private func finishCall(_ context: ChannelHandlerContext) {
        call = nil
        resumeReads()
    }

    // MARK: The connection ending

    /// The agent shut its side: nothing more will be asked on this connection. An idle one
    /// closes; one with a call in flight closes once that call is answered.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed? = event as? ChannelEvent {
            if call == nil || call?.responseEnded == true { context.close(promise: nil) } else { call?.closes = true }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        endCall()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        endCall()
        context.close(promise: nil)
    }

    /// The agent is gone: its body ends in an error and its call is cancelled (a held call is
    /// withdrawn, an upstream answer in flight is recorded as aborted).
    private func endCall() {
        call?.body?.finish(ChannelError.eof)
        call?.body = nil
        call?.task?.cancel()
        call = nil
    }

    static func saysClose(_ fields: HTTPFields) -> Bool {
        fields[values: .connection].contains { value in
            value.split(separator: ",").contains { $0.filter { !$0.isWhitespace }.lowercased() == "close" }
        }
    }
}
