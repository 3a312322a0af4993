import NIOCore
import NIOPosix

/// Sends bytes exactly as given and returns what comes back until the server closes: for
/// request targets and header tricks that no well-behaved HTTP client will produce.
public enum RawHTTP {
    public static func exchange(port: Int, _ request: String) async throws -> String {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        return try await channel.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(string: request))
            var received = ""
            for try await chunk in inbound {
                received += String(buffer: chunk)
                if received.contains("\r\n\r\n") && received.utf8.count > 12 { break }
            }
            return received
        }
    }

    /// Sends `request`, waits until `ready` returns (the call is held somewhere), then closes
    /// the connection without reading an answer: an agent that hangs up.
    public static func hangUp(port: Int, _ request: String, when ready: @Sendable () async throws -> Void) async throws {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        try await channel.executeThenClose { _, outbound in
            try await outbound.write(ByteBuffer(string: request))
            try await ready()
        }
    }
}
