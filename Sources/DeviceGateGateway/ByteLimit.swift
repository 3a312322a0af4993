import Hummingbird
import NIOConcurrencyHelpers
import NIOCore

/// The agent's request body, streamed through unbuffered, failing once it passes the limit.
struct ByteLimit: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let body: RequestBody
    let limit: Int
    let exceeded = NIOLockedValueBox(false)

    init(_ body: RequestBody, limit: Int) {
        self.body = body
        self.limit = limit
    }

    struct TooLarge: Error {}

    struct AsyncIterator: AsyncIteratorProtocol {
        var inner: RequestBody.AsyncIterator
        let limit: Int
        let exceeded: NIOLockedValueBox<Bool>
        var seen = 0

        mutating func next() async throws -> ByteBuffer? {
            guard let chunk = try await inner.next() else { return nil }
            seen += chunk.readableBytes
            if seen > limit {
                exceeded.withLockedValue { $0 = true }
                throw TooLarge()
            }
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(inner: body.makeAsyncIterator(), limit: limit, exceeded: exceeded)
    }
}
