import DeviceGateKit
import HummingbirdCore
import Logging
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOHTTPTypesHTTP1
import NIOPosix
import ServiceLifecycle

/// The agent-facing listener: a SwiftNIO server whose connections each run the gateway's
/// handlers on one event loop, from the HTTP/1 codec to the ``AgentConnectionHandler``. It
/// stops gracefully: on shutdown it stops accepting, lets every connection finish the request
/// it is answering (idle ones close at once), then returns.
struct AgentListener: Service {
    enum Address {
        case tcp(host: String, port: Int)
        case unix(UnixSocketPlacement)
    }

    let address: Address
    let keeper: Gatekeeper
    let endpoints: [any GatewayEndpoint]
    let connections: ConnectionLimit
    let headerTimeout: TimeAmount
    let idleTimeout: Duration
    let logger: Logger
    /// Receives the bound port (0 for a socket) once connections are accepted.
    let onReady: @Sendable (Int) async -> Void

    func run() async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let quiescing = ServerQuiescingHelper(group: group)
        let (keeper, endpoints, connections, headerTimeout, idleTimeout, logger) =
            (self.keeper, self.endpoints, self.connections, self.headerTimeout, self.idleTimeout, self.logger)
        var bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                }
            }
            // A client may send its request and shut its side; HangUpWatch tells that apart.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                Self.setUp(
                    channel, keeper: keeper, endpoints: endpoints, connections: connections, headerTimeout: headerTimeout,
                    idleTimeout: idleTimeout, logger: logger)
            }
        let server: any Channel
        switch address {
        case .tcp(let host, let port):
            bootstrap = bootstrap.childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            server = try await bootstrap.bind(host: host, port: port).get()
        case .unix(let placement):
            server = try await bootstrap.bind(unixDomainSocketPath: placement.bindPath).get()
            do { try placement.publish() } catch {
                logger.critical("\(error)")
                try? await server.close()
                throw error
            }
        }
        await onReady(server.localAddress?.port ?? 0)
        try? await gracefulShutdown()
        let stopped = group.next().makePromise(of: Void.self)
        quiescing.initiateShutdown(promise: stopped)
        try? await stopped.futureResult.get()
    }

    /// One connection's handlers, in order. Past the connection cap a connection is still set
    /// up the ordinary way, but its first request is answered 503 with `Connection: close`; the
    /// header timeout bounds how long it can idle before that. Every handler is added before the
    /// first byte is read, so a connection that closes during set-up leaves nothing half-made.
    static func setUp(
        _ channel: any Channel, keeper: Gatekeeper, endpoints: [any GatewayEndpoint], connections: ConnectionLimit,
        headerTimeout: TimeAmount, idleTimeout: Duration, logger: Logger
    ) -> EventLoopFuture<Void> {
        let admitted = connections.enter()
        if admitted { channel.closeFuture.whenComplete { _ in connections.leave() } }
        return channel.eventLoop.makeCompletedFuture {
            let pipeline = channel.pipeline.syncOperations
            try pipeline.addHandler(HangUpWatch(eventLoop: channel.eventLoop))
            try pipeline.configureHTTPServerPipeline(
                withPipeliningAssistance: true, withErrorHandling: false, withOutboundHeaderValidation: false,
                withEncoderConfiguration: .init(), withDecoderLimitConfiguration: .init())
            try pipeline.addHandler(HeaderReadTimeout(timeout: headerTimeout))
            try pipeline.addHandler(RequestHeadGuard(overloaded: !admitted))
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: idleTimeout, logger: logger))
            try pipeline.addHandler(AgentConnectionHandler(keeper: keeper, endpoints: endpoints))
        }
    }
}
