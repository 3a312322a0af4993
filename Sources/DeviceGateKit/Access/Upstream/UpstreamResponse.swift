import NIOCore
import NIOHTTP1

/// An upstream's answer as async code sees it (``UpstreamPool/send(_:body:to:)``): the head,
/// and the body as it arrives.
public struct UpstreamResponse: Sendable {
    public let head: HTTPResponseHead
    public let body: UpstreamResponseBody
}

/// The response body, read with backpressure: the pool stops reading the upstream while a few
/// parts wait unread. Iterate it once. Dropping it unread, or cancelling the reading task,
/// closes the connection.
public struct UpstreamResponseBody: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    typealias Producer = NIOThrowingAsyncSequenceProducer<
        ByteBuffer, any Error, NIOAsyncSequenceProducerBackPressureStrategies.HighLowWatermark, UpstreamCall.Demand
    >
    let producer: Producer

    public struct AsyncIterator: AsyncIteratorProtocol {
        var inner: Producer.AsyncIterator
        public mutating func next() async throws -> ByteBuffer? { try await inner.next() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(inner: producer.makeAsyncIterator()) }
}
