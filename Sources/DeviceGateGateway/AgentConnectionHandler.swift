import DeviceGateKit
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// One agent connection on the gateway's listener, one request at a time (the HTTP/1 pipeline
/// handler before it holds pipelined requests back until the answer before them is written).
///
/// Each request is decided by the ``AdmissionCore``'s synchronous pass right here, on the
/// connection's event loop. An admitted call that no person has to approve is forwarded on
/// this loop too (``LoopForwarding``): no task, no hop. A refusal is recorded and answered from
/// here. What the pass cannot decide alone (a hold to read from the store, a rate limit a shared
/// store counts, a token to refresh), a call a person must approve, and the mounted endpoints
/// (`/mcp`) run as one task per request, the ``AgentCall``, which writes its answer back through
/// the channel; the request body reaches it as a ``RequestBodyStream``, read from the socket
/// only as fast as the call consumes it.
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
        /// The call forwarded on this loop, if it is one.
        var forwarding: LoopForwarding?
        /// Feeds the body to a task; nil once the body ended or nobody reads it.
        var body: RequestBodyStream.Source?
        var task: Task<Void, Never>?
        var requestEnded = false
        var responseEnded = false
        /// The agent or the answer said `Connection: close`, or the agent shut its side.
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
            call = Call(closes: Self.saysClose(head.headerFields))
            let path = head.path.map { String($0.prefix { $0 != "?" }) }
            if let endpoint = endpoints.first(where: { $0.path == path }) {
                let (agentCall, body) = startTask(context)
                call?.task = Task { await agentCall.serve(endpoint, head: head, refusal: refusal, body: body) }
                return
            }
            decide(head, refusal: refusal, context: context)
        case .body(let buffer):
            if let forwarding = call?.forwarding {
                forwarding.requestBody(buffer)
            } else if let source = call?.body, source.yield(buffer) == .stopProducing {
                pauseReads()
            }
        case .end:
            call?.requestEnded = true
            call?.forwarding?.requestEnd()
            call?.body?.finish()
            call?.body = nil
            if call?.responseEnded == true { finishCall() }
        }
    }

    /// The synchronous pass, and where the call goes from there.
    private func decide(_ head: HTTPRequest, refusal: TransportRefusal?, context: ChannelHandlerContext) {
        var audit = Gatekeeper.auditFields(head)
        var found = AdmissionCore.Lookups()
        switch AdmissionCore(keeper).attempt(head, refusal: refusal, audit: &audit, found: &found) {
        case .admitted(let admission) where admission.approvalRule == nil:
            let forwarding = LoopForwarding(admission: admission, keeper: keeper, handler: self, context: context)
            call?.forwarding = forwarding
            forwarding.start()
        case .denied(let denial, trip: nil):
            refuse(denial, audit: audit, context: context)
        case .admitted, .denied, .needs:
            let (agentCall, body) = startTask(context)
            call?.task = Task { await agentCall.answer(head, refusal: refusal, body: body, found: found, audit: audit) }
        }
    }

    /// Starts the body stream of a call answered by a task.
    private func startTask(_ context: ChannelHandlerContext) -> (AgentCall, RequestBodyStream) {
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
        call?.body = made.source
        return (AgentCall(keeper: keeper, channel: context.channel), made.sequence)
    }

    func read(context: ChannelHandlerContext) {
        if readsPaused {
            readPending = true
        } else {
            context.read()
        }
    }

    func pauseReads() { readsPaused = true }

    func resumeReads() {
        readsPaused = false
        if readPending, let context {
            readPending = false
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        call?.forwarding?.agentWritabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    // MARK: Writing the answer

    /// Records and counts a refusal, then writes it.
    func refuse(_ denial: Denial, audit: [String: AuditValue], context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        keeper.refused(denial, audit: audit) {
            eventLoop.execute {
                let (handler, context) = loopBound.value
                let (head, body) = denial.rendered()
                if denial.closeConnection { handler.call?.closes = true }
                context.write(handler.wrapOutboundOut(.head(head)), promise: nil)
                context.write(handler.wrapOutboundOut(.body(body)), promise: nil)
                handler.finishResponse(context)
            }
        }
    }

    /// Writes the end of the answer from this handler (the loop path, a refusal) and moves on.
    func finishResponse(_ context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        responseEnded(context)
    }

    /// Parts a task writes through the channel pass here on their way out.
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            if Self.saysClose(head.headerFields) { call?.closes = true }
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            context.write(data, promise: promise)
            responseEnded(context)
        }
    }

    private func responseEnded(_ context: ChannelHandlerContext) {
        guard call != nil else { return }
        call?.responseEnded = true
        if call?.closes == true {
            context.flush()
            context.close(promise: nil)
        } else if call?.requestEnded == true {
            finishCall()
        } else {
            // Answered before the whole body arrived (a refusal): read the rest and drop it.
            call?.body?.finish()
            call?.body = nil
            call?.forwarding = nil
            resumeReads()
        }
    }

    private func finishCall() {
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

    /// A request the HTTP/1 decoder cannot read (the decoder reads nothing more after it): with
    /// no call under way it is answered 400 and the connection closed; a call under way is
    /// answered as it will be (a refusal, a task's answer) and the connection closed after it;
    /// a call being forwarded from this loop is abandoned with the connection.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard error is HTTPParserError, call?.forwarding == nil, call?.responseEnded != true else {
            endCall()
            context.close(promise: nil)
            return
        }
        guard call != nil else {
            let head = HTTPResponse(status: .badRequest, headerFields: [.connection: "close", .contentLength: "0"])
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            context.close(promise: nil)
            return
        }
        call?.body?.finish(error)
        call?.body = nil
        call?.closes = true
    }

    /// The agent is gone: a call on this loop abandons its exchange, a task's body ends in an
    /// error and the task is cancelled (a held call is withdrawn, an answer in flight is
    /// recorded as aborted).
    private func endCall() {
        if call?.responseEnded != true { call?.forwarding?.agentGone() }
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
