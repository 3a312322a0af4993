import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// Why an upstream exchange did not complete. Its message is plain and fixed by the pool (the
/// kind of failure and, for socket and TLS errors, the system's own words): never a header
/// value or a body byte, so it can be logged, audited and shown to the agent.
public struct UpstreamFailure: Error, CustomStringConvertible, Sendable {
    /// What went wrong, for callers that answer differently (504 for a timeout, say).
    public enum Kind: Sendable, Hashable {
        /// The connection could not be opened (refused, unreachable, name not found).
        case connect
        /// No connection within the connect timeout, or no upstream byte within the read timeout.
        case timeout
        /// The upstream closed or reset the connection before the answer was complete.
        case closed
        /// The TLS handshake failed (untrusted certificate, wrong name, protocol).
        case tls
        /// The upstream's bytes were not HTTP/1.1 this pool can relay.
        case malformed
        /// The pool was shut down.
        case shutdown
        /// The origin or the call cannot be served by this pool.
        case invalidOrigin
        /// The request body the caller streamed failed, or does not match its head's framing.
        case requestBody
    }

    public let kind: Kind
    public let description: String

    public init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }

    /// Maps an error from the channel to a plain failure; unknown errors keep only their type.
    static func from(_ error: any Error) -> UpstreamFailure {
        switch error {
        case let failure as UpstreamFailure:
            return failure
        case ChannelError.connectTimeout:
            return UpstreamFailure(.timeout, "the upstream did not accept a connection in time")
        case let error as NIOConnectionError:
            let first = error.connectionErrors.first.map { String(describing: $0.error) }
            return UpstreamFailure(.connect, "could not connect to the upstream" + (first.map { ": " + $0 } ?? ""))
        case let error as IOError:
            return UpstreamFailure(.closed, "the upstream connection failed: \(error.description)")
        case let error as NIOSSLError:
            return UpstreamFailure(.tls, "TLS with the upstream failed: \(error)")
        case let error as NIOSSLExtraError:
            return UpstreamFailure(.tls, "TLS with the upstream failed: \(error)")
        case let error as HTTPParserError:
            return UpstreamFailure(.malformed, "the upstream's answer is not valid HTTP/1.1 (\(error))")
        case ChannelError.ioOnClosedChannel, ChannelError.alreadyClosed, ChannelError.eof:
            return UpstreamFailure(.closed, "the upstream closed the connection")
        default:
            return UpstreamFailure(.closed, "the upstream connection failed (\(type(of: error)))")
        }
    }

    static let closedEarly = UpstreamFailure(.closed, "the upstream closed the connection before the answer was complete")
    static let shutDown = UpstreamFailure(.shutdown, "the upstream pool is shut down")
}
