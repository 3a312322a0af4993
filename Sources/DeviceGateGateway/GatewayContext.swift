import Hummingbird
import NIOCore

/// Per-request context: Hummingbird's core plus who is on the other end of the socket.
public struct GatewayContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?
    /// The agent's connection, to notice it hanging up while a call is held for approval.
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.channel = source.channel
    }
}
