import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// The pool's state for one event loop: its idle keep-alive connections per origin and every
/// open one. Touched only on `eventLoop` (hence unchecked Sendable), so taking and returning a
/// connection needs no lock, and an exchange never leaves the loop its caller runs on.
final class UpstreamLoopPool: @unchecked Sendable {
    let eventLoop: any EventLoop
    private let configuration: UpstreamPool.Configuration
    private let tls: UpstreamTLS
    private var idle: [UpstreamOrigin: [UpstreamConnection]] = [:]
    private var open: [ObjectIdentifier: UpstreamConnection] = [:]
    private var sweep: Scheduled<Void>?
    private var isShutDown = false

    init(eventLoop: any EventLoop, configuration: UpstreamPool.Configuration, tls: UpstreamTLS) {
        self.eventLoop = eventLoop
        self.configuration = configuration
        self.tls = tls
    }

    /// Runs the exchange on an idle connection to its origin, or on a new one.
    func begin(_ exchange: UpstreamExchange) {
        guard !isShutDown else { return failSoon(exchange, .shutDown) }
        while let connection = idle[exchange.origin]?.popLast() {
            if connection.isUsable { return connection.start(exchange, reused: true, notify: false) }
            connection.abandon()
        }
        connect(exchange)
    }

    /// Opens a new connection for the exchange: TCP (and TLS) within the connect timeout.
    func connect(_ exchange: UpstreamExchange) {
        guard !isShutDown else { return failSoon(exchange, .shutDown) }
        let origin = exchange.origin
        let sslContext: NIOSSLContext?
        switch origin.tls ? tls.context() : nil {
        case .success(let context): sslContext = context
        case .failure(let failure): return failSoon(exchange, failure)
        case nil: sslContext = nil
        }
        let readTimeout = configuration.readTimeout
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    if let sslContext {
                        try sync.addHandler(NIOSSLClientHandler(context: sslContext, serverHostname: origin.serverName))
                    }
                    try sync.addHTTPClientHandlers()
                    try sync.addHandler(UpstreamConnection(origin: origin, pool: self, tls: sslContext != nil, readTimeout: readTimeout))
                }
            }
        exchange.phase = .connecting
        let seconds = configuration.connectTimeout.nanoseconds / 1_000_000_000
        exchange.connectDeadline = eventLoop.assumeIsolated().scheduleTask(in: configuration.connectTimeout) { [weak exchange] in
            exchange?.fail(UpstreamFailure(.timeout, "no connection to the upstream within \(seconds) s (connect timeout)"))
        }
        bootstrap.connect(host: origin.host, port: origin.port).assumeIsolated().whenComplete { result in
            switch result {
            case .failure(let error):
                exchange.fail(.from(error))
            case .success(let channel):
                guard let connection = try? channel.pipeline.syncOperations.handler(type: UpstreamConnection.self) else {
                    channel.close(promise: nil)
                    return exchange.fail(.closedEarly)
                }
                guard !self.isShutDown else {
                    connection.abandon()
                    return exchange.fail(.shutDown)
                }
                guard exchange.phase == .connecting, exchange.pendingConnection == nil, connection.isOpen else {
                    // Cancelled or timed out meanwhile (or closed at once).
                    connection.abandon()
                    return exchange.fail(.closedEarly)
                }
                self.open[ObjectIdentifier(connection)] = connection
                connection.adopt(exchange)
            }
        }
    }

    /// Takes back a connection whose exchange ended cleanly, or closes it past the limit.
    func release(_ connection: UpstreamConnection) {
        guard !isShutDown, connection.isUsable, idle[connection.origin, default: []].count < configuration.maxIdlePerOrigin else {
            return connection.abandon()
        }
        connection.idleSince = .now()
        idle[connection.origin, default: []].append(connection)
        if sweep == nil { scheduleSweep(at: connection.idleSince + configuration.idleTimeout) }
    }

    /// The connection closed (either side): it leaves the pool.
    func forget(_ connection: UpstreamConnection) {
        open.removeValue(forKey: ObjectIdentifier(connection))
        if let index = idle[connection.origin]?.firstIndex(where: { $0 === connection }) {
            idle[connection.origin]?.remove(at: index)
        }
    }

    /// Closes every connection; exchanges still running fail with ``UpstreamFailure/Kind/shutdown``.
    func shutdown() -> EventLoopFuture<Void> {
        isShutDown = true
        sweep?.cancel()
        sweep = nil
        idle.removeAll()
        let connections = Array(open.values)
        open.removeAll()
        let closed = connections.compactMap(\.closeFuture)
        for connection in connections { connection.shutDown() }
        return EventLoopFuture.andAllComplete(closed, on: eventLoop)
    }

    /// How many connections are open (idle or busy), for tests and metrics.
    var openCount: Int { open.count }
    var idleCount: Int { idle.values.reduce(0) { $0 + $1.count } }

    private func failSoon(_ exchange: UpstreamExchange, _ failure: UpstreamFailure) {
        exchange.phase = .connecting
        eventLoop.assumeIsolated().execute { exchange.fail(failure) }
    }

    private func scheduleSweep(at deadline: NIODeadline) {
        sweep = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in self?.closeExpired() }
    }

    /// Closes the connections idle for longer than the idle timeout.
    private func closeExpired() {
        sweep = nil
        let now = NIODeadline.now()
        var next: NIODeadline?
        var expired: [UpstreamConnection] = []
        for (origin, connections) in idle {
            var kept: [UpstreamConnection] = []
            for connection in connections {
                let due = connection.idleSince + configuration.idleTimeout
                if due <= now {
                    expired.append(connection)
                } else {
                    kept.append(connection)
                    next = min(next ?? due, due)
                }
            }
            idle[origin] = kept.isEmpty ? nil : kept
        }
        for connection in expired { connection.abandon() }
        if let next { scheduleSweep(at: next) }
    }
}

/// The pool's one TLS context, made on first use: loading the trust store costs time that a
/// gateway without https upstreams need not pay, and a bad configuration fails only the https
/// calls, with a plain message.
final class UpstreamTLS: Sendable {
    private let configuration: TLSConfiguration
    private let made = NIOLockedValueBox<Result<NIOSSLContext, UpstreamFailure>?>(nil)

    init(_ configuration: TLSConfiguration) {
        var configuration = configuration
        // HTTP/1.1 only: the codec behind the TLS handler speaks nothing else.
        configuration.applicationProtocols = ["http/1.1"]
        self.configuration = configuration
    }

    func context() -> Result<NIOSSLContext, UpstreamFailure> {
        made.withLockedValue { made in
            if let made { return made }
            let result: Result<NIOSSLContext, UpstreamFailure>
            do { result = .success(try NIOSSLContext(configuration: configuration)) } catch {
                result = .failure(UpstreamFailure(.tls, "the TLS settings for upstream connections are unusable: \(error)"))
            }
            made = result
            return result
        }
    }
}
