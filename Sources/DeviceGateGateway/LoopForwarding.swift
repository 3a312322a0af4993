import DeviceGateKit
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// An admitted call forwarded without leaving the agent connection's event loop: its `request`
/// record goes to the audit writer, and only once it is written does an exchange start on the
/// upstream pool, on the same loop; the agent's body streams up and the answer streams down,
/// each side read only as fast as the other takes it, with every copy of a sent token
/// overwritten on the way (``TokenRedactor``) and the `response` record handed to the writer
/// at the end. A 401 to a call that can be replayed is answered by one refresh (in a task: it
/// may wait on the identity provider and on other processes) and one retry.
///
/// Owned by the ``AgentConnectionHandler`` for the length of the call; every method runs on the
/// connection's event loop.
final class LoopForwarding: UpstreamReceiver {
    private unowned let handler: AgentConnectionHandler
    private let context: ChannelHandlerContext
    private let keeper: Gatekeeper
    private var admission: Admission
    private let started = ContinuousClock.now
    private var sent: [Secret]
    private var redactor: TokenRedactor
    private var exchange: UpstreamExchange?

    private enum Phase {
        /// The `request` record is with the writer; body parts wait.
        case recording
        /// The exchange runs; no answer yet.
        case sending
        /// A 401 is being read to its end before the refresh and the retry.
        case discardingRejection
        /// The answer's head is written; its body streams.
        case answering(AnsweredCall)
        case done
    }
    private var phase = Phase.recording
    private var waitingBody = CircularBuffer<ByteBuffer>()
    private var requestEnded = false
    private var requestBytes = 0
    private var answerBytes = 0
    private var retried = false

    init(admission: Admission, keeper: Gatekeeper, handler: AgentConnectionHandler, context: ChannelHandlerContext) {
        self.admission = admission
        self.keeper = keeper
        self.handler = handler
        self.context = context
        self.sent = [admission.token]
        self.redactor = keeper.redactor(for: [admission.token])
    }

    /// Records the call; the exchange starts once the record is written.
    func start() {
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        keeper.recordRequest(admission) { accepted in
            eventLoop.execute { loopBound.value.recorded(accepted) }
        }
    }

    private func recorded(_ accepted: Bool) {
        guard case .recording = phase else { return }
        guard accepted else { return refuse(Gatekeeper.auditUnavailable(admission.gate.profile.name)) }
        send()
    }

    private func send() {
        phase = .sending
        let exchange = keeper.upstreamPool.start(
            admission.upstreamHead(), to: admission.gate.origin, on: context.eventLoop, receiver: self)
        self.exchange = exchange
        while let part = waitingBody.popFirst() { exchange.sendBody(part) }
        if requestEnded || !admission.hasBody { exchange.endBody() }
        // Reads paused while the record was written resume now, or once the new connection
        // reports it can take the body (upstreamWritabilityChanged).
        if exchange.isWritable { handler.resumeReads() }
    }

    // MARK: The agent's side

    func requestBody(_ buffer: ByteBuffer) {
        requestBytes += buffer.readableBytes
        guard requestBytes <= keeper.config.maxRequestBytes else { return bodyTooLarge() }
        switch phase {
        case .recording:
            waitingBody.append(buffer)
            handler.pauseReads()
        case .sending, .answering:
            guard let exchange else { return }
            exchange.sendBody(buffer)
            // The send may have failed the exchange on the spot (reported already).
            if self.exchange === exchange, !exchange.isWritable { handler.pauseReads() }
        case .discardingRejection, .done:
            break
        }
    }

    func requestEnd() {
        requestEnded = true
        if case .recording = phase { return }
        exchange?.endBody()
    }

    func agentWritabilityChanged(_ writable: Bool) {
        if writable { exchange?.resumeResponse() } else { exchange?.pauseResponse() }
    }

    /// The agent hung up: the upstream exchange is abandoned and an answer under way is recorded
    /// as aborted.
    func agentGone() {
        exchange?.cancel()
        exchange = nil
        if case .answering(let call) = phase {
            keeper.answered(call, bytes: answerBytes, redactions: redactor.redactions, outcome: "aborted")
        }
        phase = .done
    }

    private func bodyTooLarge() {
        exchange?.cancel()
        exchange = nil
        if case .answering(let call) = phase {
            keeper.answered(call, bytes: answerBytes, redactions: redactor.redactions, outcome: "aborted")
            phase = .done
            context.close(promise: nil)
            return
        }
        var denial = Denial.tooLarge(admission.gate.profile.name, limit: keeper.config.maxRequestBytes)
        // The rest of the body is not read: the connection cannot be reused.
        denial.closeConnection = true
        refuse(denial)
    }

    // MARK: The upstream's side

    func upstreamWritabilityChanged(_ writable: Bool) {
        if writable { handler.resumeReads() } else { handler.pauseReads() }
    }

    func upstreamHead(_ head: HTTPResponseHead) {
        guard case .sending = phase else { return }
        if head.status == .unauthorized, admission.replayable, !retried {
            phase = .discardingRejection
            return
        }
        if head.status == .unauthorized, retried { keeper.rejectedAfterRefresh(admission.gate.profile.name) }
        let answer = AnswerHead(
            status: Int(head.status.code), reasonPhrase: head.status.reasonPhrase, headers: head.headers, redactor: redactor)
        var fields = answer.headers
        if let length = answer.contentLength { fields[.contentLength] = String(length) }
        let call = AnsweredCall(profile: admission.gate.profile.name, audit: admission.audit, head: answer, started: started)
        phase = .answering(call)
        context.write(handler.wrapOutboundOut(.head(HTTPResponse(status: answer.status, headerFields: fields))), promise: nil)
    }

    func upstreamBody(_ buffer: ByteBuffer) {
        guard case .answering = phase else { return }
        answerBytes += buffer.readableBytes
        let safe = redactor.feed(buffer.readableBytesView)
        guard !safe.isEmpty else { return }
        context.writeAndFlush(handler.wrapOutboundOut(.body(ByteBuffer(bytes: safe))), promise: nil)
        if !context.channel.isWritable { exchange?.pauseResponse() }
    }

    func upstreamEnd() {
        exchange = nil
        switch phase {
        case .discardingRejection:
            retry()
        case .answering(let call):
            let rest = redactor.finish()
            if !rest.isEmpty { context.write(handler.wrapOutboundOut(.body(ByteBuffer(bytes: rest))), promise: nil) }
            phase = .done
            handler.finishResponse(context)
            keeper.answered(call, bytes: answerBytes, redactions: redactor.redactions, outcome: "forwarded")
        default:
            break
        }
    }

    func upstreamFailed(_ error: UpstreamFailure) {
        exchange = nil
        switch phase {
        case .answering(let call):
            // Cut off mid-answer: the agent must not take a short body for a whole one.
            phase = .done
            keeper.answered(call, bytes: answerBytes, redactions: redactor.redactions, outcome: "aborted")
            context.close(promise: nil)
        case .sending, .discardingRejection:
            refuse(Denial.forwardingFailed(admission.gate.profile.name, error))
        case .recording, .done:
            break
        }
    }

    /// One refresh for the rejected token (shared with every call that saw it rejected), then
    /// the same call again with the new token.
    private func retry() {
        retried = true
        phase = .recording
        let (eventLoop, rejected) = (context.eventLoop, admission)
        let loopBound = NIOLoopBound(self, eventLoop: eventLoop)
        Task {
            let renewed: Result<Admission, any Error>
            do { renewed = .success(try await rejected.renewed()) } catch { renewed = .failure(error) }
            eventLoop.execute { loopBound.value.retry(with: renewed) }
        }
    }

    private func retry(with renewed: Result<Admission, any Error>) {
        guard case .recording = phase else { return }
        switch renewed {
        case .success(let admission):
            self.admission = admission
            sent.append(admission.token)
            redactor = keeper.redactor(for: sent)
            send()
        case .failure(let error):
            refuse(Denial.forwardingFailed(admission.gate.profile.name, error))
        }
    }

    /// Records and counts a refusal, then answers it.
    private func refuse(_ denial: Denial) {
        phase = .done
        exchange?.cancel()
        exchange = nil
        handler.refuse(denial, audit: admission.audit, context: context)
    }
}
