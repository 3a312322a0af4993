import NIOCore
import NIOHTTP1

extension UpstreamPool {
    /// Sends a request from async code: the body (if any) is streamed as the upstream takes it,
    /// the call returns with the response head, and the body follows as an async sequence.
    /// Cancelling the task closes the connection. Calls to one origin run on one of the
    /// group's loops, so that they share its keep-alive connections.
    ///
    /// - Parameter body: nil for a bodiless request; its failure (a size limit, the agent gone)
    ///   fails the call with that same error.
    /// - Throws: ``UpstreamFailure``, the body's error, or `CancellationError`.
    public func send<Body: AsyncSequence & Sendable>(
        _ head: HTTPRequestHead, body: Body?, to origin: UpstreamOrigin
    ) async throws -> UpstreamResponse where Body.Element == ByteBuffer {
        let loop = loop(for: origin)
        let call = UpstreamCall(eventLoop: loop)
        let made = UpstreamResponseBody.Producer.makeSequence(
            backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8), finishOnDeinit: false,
            delegate: UpstreamCall.Demand(call: call))
        let (producer, source) = (made.sequence, made.source)
        let hasBody = body != nil
        loop.execute { call.start(head, origin: origin, pool: self, source: source, hasBody: hasBody) }
        if let body {
            let upload = Task { await call.upload(body) }
            loop.execute { call.uploading(upload) }
        }
        let responseHead = try await withTaskCancellationHandler {
            try await call.head.futureResult.get()
        } onCancel: {
            loop.execute { call.abort(CancellationError()) }
        }
        return UpstreamResponse(head: responseHead, body: UpstreamResponseBody(producer: producer))
    }
}

/// The receiver behind ``UpstreamPool/send(_:body:to:)``: turns an exchange's callbacks into a
/// head future and a body sequence, and feeds it the caller's body as the connection drains.
/// Its state is touched only on `eventLoop`.
final class UpstreamCall: UpstreamReceiver, @unchecked Sendable {
    typealias Source = UpstreamResponseBody.Producer.Source

    /// Reads resume when the consumer drained the body below the low watermark; a consumer
    /// gone closes the connection.
    struct Demand: NIOAsyncSequenceProducerDelegate {
        let call: UpstreamCall
        func produceMore() { call.eventLoop.execute { call.exchange?.resumeResponse() } }
        func didTerminate() { call.eventLoop.execute { call.abort(CancellationError()) } }
    }

    /// The upload stopped because the exchange is over.
    struct Stopped: Error {}

    let eventLoop: any EventLoop
    let head: EventLoopPromise<HTTPResponseHead>
    private(set) var exchange: UpstreamExchange?
    /// Dropped at the end: it holds the sequence's storage, which holds the delegate, which
    /// holds this call.
    private var source: Source?
    private var headDelivered = false
    private var finished = false
    private var drained: EventLoopPromise<Void>?
    private var upload: Task<Void, Never>?

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
        self.head = eventLoop.makePromise(of: HTTPResponseHead.self)
    }

    func start(_ head: HTTPRequestHead, origin: UpstreamOrigin, pool: UpstreamPool, source: Source, hasBody: Bool) {
        self.source = source
        guard !finished else { return }
        let exchange = pool.start(head, to: origin, on: eventLoop, receiver: self)
        if !finished { self.exchange = exchange }
        if !hasBody { exchange.endBody() }
    }

    func uploading(_ task: Task<Void, Never>) {
        if finished { task.cancel() } else { upload = task }
    }

    /// Streams the caller's body, one part at a time, each once the connection can take it.
    ///
    /// Not optimised, and not specialised: Swift 6.3.1's CopyPropagation pass crashes ("Found
    /// ownership error") on its specialisation for `ByteLimit<BufferedBody>` in a release
    /// build. The loop waits on the network; the optimiser buys nothing here.
    @_optimize(none)
    @_semantics("optimize.sil.specialize.generic.never")
    func upload<Body: AsyncSequence & Sendable>(_ body: Body) async where Body.Element == ByteBuffer {
        do {
            for try await part in body {
                try await eventLoop.flatSubmit { self.send(part) }.get()
            }
            eventLoop.execute { self.exchange?.endBody() }
        } catch {
            eventLoop.execute { self.abort(error) }
        }
    }

    private func send(_ part: ByteBuffer) -> EventLoopFuture<Void> {
        guard !finished, let exchange else { return eventLoop.makeFailedFuture(Stopped()) }
        exchange.sendBody(part)
        // A part the head does not frame fails the exchange at once.
        guard !finished else { return eventLoop.makeFailedFuture(Stopped()) }
        if exchange.isWritable { return eventLoop.makeSucceededVoidFuture() }
        let promise = drained ?? eventLoop.makePromise(of: Void.self)
        drained = promise
        return promise.futureResult
    }

    /// The caller is gone or its body failed: the connection closes, the call fails with `error`.
    func abort(_ error: any Error) {
        guard !finished else { return }
        exchange?.cancel()
        end(error)
    }

    private func end(_ error: (any Error)?) {
        finished = true
        exchange = nil
        if !headDelivered { head.fail(error ?? Stopped()) }
        if let error { source?.finish(error) } else { source?.finish() }
        source = nil
        drained?.fail(Stopped())
        drained = nil
        upload?.cancel()
        upload = nil
    }

    func upstreamHead(_ head: HTTPResponseHead) {
        headDelivered = true
        self.head.succeed(head)
    }

    func upstreamBody(_ buffer: ByteBuffer) {
        if source?.yield(buffer) == .stopProducing { exchange?.pauseResponse() }
    }

    func upstreamEnd() { end(nil) }

    func upstreamFailed(_ error: UpstreamFailure) { end(error) }

    func upstreamWritabilityChanged(_ writable: Bool) {
        guard writable, let drained else { return }
        self.drained = nil
        drained.succeed()
    }
}
