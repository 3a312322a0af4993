import NIOCore
import NIOHTTP1
import NIOSSL

/// The gateway's one way to reach upstreams: HTTP/1.1 keep-alive connections per origin and
/// per event loop, built on SwiftNIO directly so that a call forwarded by a NIO handler stays
/// on that handler's loop from the agent's socket to the upstream's and back, without Swift
/// tasks or locks per request.
///
/// It never follows a redirect (a token only reaches the profile's own origin) and never
/// decompresses (the answer is searched for the token byte for byte). A connection is reused
/// only when nothing of the previous exchange can still arrive on it: response complete and
/// framed by length or chunks, request fully sent, HTTP/1.1 and no `Connection: close` on
/// either side.
///
/// Two ways in: ``start(_:to:on:receiver:)`` for code on an event loop (callbacks, no tasks),
/// and ``send(_:body:to:)`` for async code (both bodies streamed with backpressure).
public final class UpstreamPool: Sendable {
    /// Timeouts, limits and TLS trust for every upstream connection.
    public struct Configuration: Sendable {
        /// TCP connect plus, for https, the TLS handshake.
        public var connectTimeout: TimeAmount
        /// Longest silence from the upstream while an answer is due (not while the caller
        /// holds the response back).
        public var readTimeout: TimeAmount
        /// How long a keep-alive connection waits in the pool before it is closed.
        public var idleTimeout: TimeAmount
        /// Idle connections kept per origin and event loop; more are closed when released.
        public var maxIdlePerOrigin: Int
        /// Trust for https upstreams: by default the system's roots with hostname verification.
        public var tls: TLSConfiguration

        public init(
            connectTimeout: TimeAmount = .seconds(10), readTimeout: TimeAmount = .seconds(60), idleTimeout: TimeAmount = .seconds(60),
            maxIdlePerOrigin: Int = 64, tls: TLSConfiguration = .makeClientConfiguration()
        ) {
            self.connectTimeout = connectTimeout
            self.readTimeout = readTimeout
            self.idleTimeout = idleTimeout
            self.maxIdlePerOrigin = maxIdlePerOrigin
            self.tls = tls
        }
    }

    public let group: any EventLoopGroup
    public let configuration: Configuration
    /// One state per loop of `group`, fixed at init so that finding it takes no lock.
    private let loops: [ObjectIdentifier: UpstreamLoopPool]
    /// The same states in the group's order, for ``send(_:body:to:)``'s choice of loop.
    private let ordered: [UpstreamLoopPool]

    public init(group: any EventLoopGroup, configuration: Configuration = Configuration()) {
        self.group = group
        self.configuration = configuration
        let tls = UpstreamTLS(configuration.tls)
        let ordered = group.makeIterator().map { UpstreamLoopPool(eventLoop: $0, configuration: configuration, tls: tls) }
        self.ordered = ordered
        self.loops = Dictionary(uniqueKeysWithValues: ordered.map { (ObjectIdentifier($0.eventLoop), $0) })
    }

    /// The loop the async form uses for an origin: always the same one, so that its calls
    /// share that loop's keep-alive connections instead of opening one per loop.
    public func loop(for origin: UpstreamOrigin) -> any EventLoop {
        guard !ordered.isEmpty else { return group.next() }
        return ordered[Int(UInt(bitPattern: origin.hashValue) % UInt(ordered.count))].eventLoop
    }

    /// Starts one exchange: writes `head` (its `Host` set to the origin's) on an idle
    /// keep-alive connection of `eventLoop` to `origin`, or on a new one. Must be called on
    /// `eventLoop`, one of the pool's group. Then send the body with the exchange and call
    /// ``UpstreamExchange/endBody()``; the receiver hears the answer. The receiver and the
    /// exchange are released after the final callback.
    public func start(
        _ head: HTTPRequestHead, to origin: UpstreamOrigin, on eventLoop: any EventLoop, receiver: any UpstreamReceiver
    ) -> UpstreamExchange {
        eventLoop.preconditionInEventLoop()
        var head = head
        head.headers.replaceOrAdd(name: "Host", value: origin.authority)
        let exchange = UpstreamExchange(eventLoop: eventLoop, origin: origin, head: head, receiver: receiver)
        guard let loop = loops[ObjectIdentifier(eventLoop)] else {
            eventLoop.assumeIsolated().execute {
                exchange.fail(UpstreamFailure(.invalidOrigin, "the event loop is not one of the upstream pool's"))
            }
            return exchange
        }
        if case .invalid = exchange.framing {
            eventLoop.assumeIsolated().execute {
                exchange.fail(UpstreamFailure(.requestBody, "the request's Content-Length or Transfer-Encoding is not usable"))
            }
            return exchange
        }
        loop.begin(exchange)
        return exchange
    }

    /// Closes every connection, idle or busy (busy exchanges fail); later exchanges fail at
    /// once. Call it once, after the last exchange.
    public func shutdown() async {
        let closed = loops.values.map { loop in loop.eventLoop.flatSubmit { loop.shutdown() } }
        for future in closed { try? await future.get() }
    }

    /// Open and idle connections over all loops, for tests and diagnostics.
    public func connectionCounts() async -> (open: Int, idle: Int) {
        var counts = (open: 0, idle: 0)
        for loop in loops.values {
            let (open, idle) = (try? await loop.eventLoop.submit { (loop.openCount, loop.idleCount) }.get()) ?? (0, 0)
            counts.open += open
            counts.idle += idle
        }
        return counts
    }
}
