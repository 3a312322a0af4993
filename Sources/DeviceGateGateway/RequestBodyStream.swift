import NIOCore

/// An agent's request body as an `AsyncSequence` for a call decided off the event loop (held
/// for approval, or waiting on the store or a refresh): the connection's reads stop while
/// more than a few parts wait unread, and resume when the call asks for more, so a slow or
/// held call never makes the gateway buffer an agent's whole upload.
typealias RequestBodyStream = NIOThrowingAsyncSequenceProducer<
    ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, RequestBodyDemand
>

/// Tells the connection handler, on its event loop, when the call wants more of the body and
/// when it stopped reading it altogether.
struct RequestBodyDemand: NIOAsyncSequenceProducerDelegate {
    let eventLoop: any EventLoop
    let resume: @Sendable () -> Void
    let abandoned: @Sendable () -> Void

    func produceMore() { eventLoop.execute(resume) }
    func didTerminate() { eventLoop.execute(abandoned) }

    /// A stream and its source for one request.
    static func stream(
        on eventLoop: any EventLoop, resume: @escaping @Sendable () -> Void, abandoned: @escaping @Sendable () -> Void
    ) -> RequestBodyStream.NewSequence {
        RequestBodyStream.makeSequence(
            backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8), finishOnDeinit: true,
            delegate: RequestBodyDemand(eventLoop: eventLoop, resume: resume, abandoned: abandoned))
    }
}
