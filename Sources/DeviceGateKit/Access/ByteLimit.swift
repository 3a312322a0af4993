import NIOConcurrencyHelpers
import NIOCore

/// An agent's request body, streamed through unbuffered, failing once it passes the limit.
///
/// Generic over the door's body type (a server framework's request body, a buffer an MCP tool
/// call decoded), so the limit is enforced in one place whatever the call came in by.
public struct ByteLimit<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    public typealias Element = ByteBuffer
    let base: Base
    let limit: Int
    /// Set once the body went past the limit, so the caller can tell "too large" from a
    /// failed upstream.
    public let exceeded = NIOLockedValueBox(false)

    public init(_ base: Base, limit: Int) {
        self.base = base
        self.limit = limit
    }

    struct TooLarge: Error {}

    public struct AsyncIterator: AsyncIteratorProtocol {
        var inner: Base.AsyncIterator
        let limit: Int
        let exceeded: NIOLockedValueBox<Bool>
        var seen = 0

        public mutating func next() async throws -> ByteBuffer? {
            guard let chunk = try await inner.next() else { return nil }
            seen += chunk.readableBytes
            if seen > limit {
                exceeded.withLockedValue { $0 = true }
                throw TooLarge()
            }
            return chunk
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(inner: base.makeAsyncIterator(), limit: limit, exceeded: exceeded)
    }
}

/// A body already in memory (an MCP tool call's decoded body), as the stream the forwarding
/// path reads.
public struct BufferedBody: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer
    let buffer: ByteBuffer?

    public init(_ buffer: ByteBuffer?) { self.buffer = buffer }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var buffer: ByteBuffer?
        public mutating func next() async -> ByteBuffer? {
            defer { buffer = nil }
            return buffer
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(buffer: buffer) }
}
