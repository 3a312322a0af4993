import DeviceGateKit
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A real upstream for the pool's tests: requests are parsed by NIO's decoder, answers are the
/// bytes the test writes, so it can misbehave as servers do (close an idle connection, close
/// instead of answering, answer until close, stop reading, never answer).
final class UpstreamTestServer: Sendable {
    let port: Int
    private let channel: any Channel
    private let counts = NIOLockedValueBox((accepted: 0, closed: 0))

    /// Connections accepted so far.
    var accepted: Int { counts.withLockedValue { $0.accepted } }
    /// Connections that ended (either side closed).
    var closed: Int { counts.withLockedValue { $0.closed } }
    var origin: UpstreamOrigin { try! UpstreamOrigin(url: URL(string: "http://127.0.0.1:\(port)")!) }

    /// One request as the handler sees it: its head, which connection it came on (1-based, in
    /// accept order) and its position on that connection, its body, and the raw answer.
    final class Exchange {
        let head: HTTPRequestHead
        let connection: Int
        let index: Int
        fileprivate var iterator: NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator
        fileprivate let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
        fileprivate var ended = false
        fileprivate var closing = false

        fileprivate init(
            head: HTTPRequestHead, connection: Int, index: Int,
            iterator: NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator,
            outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
        ) {
            self.head = head
            self.connection = connection
            self.index = index
            self.iterator = iterator
            self.outbound = outbound
        }

        /// The next part of the request body; nil at its end.
        func nextPart() async throws -> ByteBuffer? {
            guard !ended else { return nil }
            while let part = try await iterator.next() {
                switch part {
                case .head: continue
                case .body(let buffer): return buffer
                case .end:
                    ended = true
                    return nil
                }
            }
            ended = true
            return nil
        }

        /// The whole request body.
        func body() async throws -> ByteBuffer {
            var all = ByteBuffer()
            while var part = try await nextPart() { all.writeBuffer(&part) }
            return all
        }

        func write(_ text: String) async throws { try await outbound.write(ByteBuffer(string: text)) }

        func write(_ buffer: ByteBuffer) async throws { try await outbound.write(buffer) }

        /// A complete keep-alive answer with a Content-Length.
        func respond(_ status: String = "200 OK", body: String = "", headers: [String] = []) async throws {
            let lines = ["HTTP/1.1 \(status)", "Content-Length: \(body.utf8.count)"] + headers
            try await write(lines.joined(separator: "\r\n") + "\r\n\r\n" + body)
        }

        /// Closes the connection once the handler returns.
        func close() { closing = true }
    }

    private init(port: Int, channel: any Channel) {
        self.port = port
        self.channel = channel
    }

    static func start(
        tls: NIOSSLContext? = nil, _ handler: @escaping @Sendable (Exchange) async throws -> Void
    ) async throws -> UpstreamTestServer {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(HTTPRequestDecoder()))
                    return try NIOAsyncChannel<HTTPServerRequestPart, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        let instance = UpstreamTestServer(port: server.channel.localAddress!.port!, channel: server.channel)
        Task {
            try? await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { inbound in
                    for try await connection in inbound {
                        let number = instance.counts.withLockedValue {
                            $0.accepted += 1
                            return $0.accepted
                        }
                        group.addTask {
                            await instance.serve(connection, number: number, handler)
                            instance.counts.withLockedValue { $0.closed += 1 }
                        }
                    }
                }
            }
        }
        return instance
    }

    func stop() async { try? await channel.close() }

    private func serve(
        _ connection: NIOAsyncChannel<HTTPServerRequestPart, ByteBuffer>, number: Int, _ handler: (Exchange) async throws -> Void
    ) async {
        try? await connection.executeThenClose { inbound, outbound in
            var iterator = inbound.makeAsyncIterator()
            var index = 0
            while let part = try await iterator.next() {
                guard case .head(let head) = part else { continue }
                index += 1
                let exchange = Exchange(
                    head: head, connection: number, index: index, iterator: iterator, outbound: outbound)
                try await handler(exchange)
                if exchange.closing { return }
                _ = try await exchange.body()
                iterator = exchange.iterator
            }
        }
    }
}

/// Collects what an exchange reports, on its loop; `done` completes at the final callback.
final class UpstreamRecorder: UpstreamReceiver, @unchecked Sendable {
    let loop: any EventLoop
    let done: EventLoopPromise<Void>
    var exchange: UpstreamExchange?
    var head: HTTPResponseHead?
    var body = ByteBuffer()
    var failure: UpstreamFailure?
    var ended = false
    var events: [String] = []
    var writability: [Bool] = []
    /// Called with each body part (on the loop), for tests that steer the exchange.
    var onBody: ((UpstreamRecorder, ByteBuffer) -> Void)?
    var onWritable: ((UpstreamRecorder, Bool) -> Void)?

    /// The final callback did not come in time (a test would otherwise hang).
    struct NoFinalCallback: Error {}

    init(loop: any EventLoop) {
        self.loop = loop
        let done = loop.makePromise(of: Void.self)
        self.done = done
        loop.scheduleTask(in: .seconds(10)) { done.fail(NoFinalCallback()) }
    }

    func upstreamHead(_ head: HTTPResponseHead) {
        events.append("head")
        self.head = head
    }

    func upstreamBody(_ buffer: ByteBuffer) {
        events.append("body")
        var copy = buffer
        body.writeBuffer(&copy)
        onBody?(self, buffer)
    }

    func upstreamEnd() {
        events.append("end")
        ended = true
        exchange = nil
        done.succeed()
    }

    func upstreamFailed(_ error: UpstreamFailure) {
        events.append("failed")
        failure = error
        exchange = nil
        done.succeed()
    }

    func upstreamWritabilityChanged(_ writable: Bool) {
        writability.append(writable)
        onWritable?(self, writable)
    }
}

/// An upstream that answers each connection's first request with `size` bytes, writing only
/// while its socket takes more and counting what the kernel accepted: how far ahead of its
/// reader the pool read.
final class StreamingUpstream: Sendable {
    let port: Int
    private let channel: any Channel
    private let accepted: NIOLockedValueBox<Int>
    /// Body bytes the kernel took so far.
    var sent: Int { accepted.withLockedValue { $0 } }
    var origin: UpstreamOrigin { try! UpstreamOrigin(url: URL(string: "http://127.0.0.1:\(port)")!) }

    private init(port: Int, channel: any Channel, accepted: NIOLockedValueBox<Int>) {
        self.port = port
        self.channel = channel
        self.accepted = accepted
    }

    static func start(size: Int) async throws -> StreamingUpstream {
        let accepted = NIOLockedValueBox(0)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Streamer(size: size, accepted: accepted))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return StreamingUpstream(port: channel.localAddress!.port!, channel: channel, accepted: accepted)
    }

    func stop() async { try? await channel.close() }

    private final class Streamer: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let size: Int
        let accepted: NIOLockedValueBox<Int>
        let chunk = ByteBuffer(repeating: 0x62, count: 64 << 10)
        var remaining: Int?

        init(size: Int, accepted: NIOLockedValueBox<Int>) {
            self.size = size
            self.accepted = accepted
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard remaining == nil else { return }
            remaining = size
            context.write(wrapOutboundOut(ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: \(size)\r\n\r\n")), promise: nil)
            pump(context)
        }

        func channelWritabilityChanged(context: ChannelHandlerContext) {
            pump(context)
            context.fireChannelWritabilityChanged()
        }

        private func pump(_ context: ChannelHandlerContext) {
            while let left = remaining, left > 0, context.channel.isWritable {
                let part = chunk.getSlice(at: 0, length: min(left, chunk.readableBytes))!
                remaining = left - part.readableBytes
                let (accepted, count) = (self.accepted, part.readableBytes)
                let written = context.eventLoop.makePromise(of: Void.self)
                written.futureResult.whenSuccess { accepted.withLockedValue { $0 += count } }
                context.write(wrapOutboundOut(part), promise: written)
            }
            context.flush()
        }
    }
}
