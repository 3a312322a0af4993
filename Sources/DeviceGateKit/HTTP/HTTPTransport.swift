import AsyncHTTPClient
import NIOCore
import NIOFoundationEssentialsCompat
import NIOHTTP1

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The one seam through which devicegate speaks HTTP.
///
/// Everything that talks to an identity provider takes a transport, so tests point the real code
/// at real loopback servers, and the production path has exactly one implementation.
public protocol HTTPTransport: Sendable {
    func send(_ request: OutgoingRequest) async throws -> IncomingResponse
}

/// A failure to get any HTTP answer at all. Carries only the host, never the request.
public struct TransportError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable { case unreachable, timedOut, bodyTooLarge }
    public let kind: Kind
    public let target: String
    public let detail: String

    public var description: String {
        switch kind {
        case .unreachable: "could not reach \(target): \(detail)"
        case .timedOut: "\(target) did not answer in time"
        case .bodyTooLarge: "\(target) sent an answer larger than \(detail)"
        }
    }
}

/// The production transport on AsyncHTTPClient. Redirects are never followed: an OAuth endpoint
/// that redirects a POST carrying a secret is misconfigured, and following it could hand the
/// secret to another origin.
public struct AsyncHTTPTransport: HTTPTransport {
    public static let shared = AsyncHTTPTransport()

    private static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(10), read: .seconds(30)))
        configuration.httpVersion = .automatic
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    public let maximumBodyBytes: Int
    public let timeout: TimeAmount

    public init(maximumBodyBytes: Int = 2 << 20, timeout: TimeAmount = .seconds(20)) {
        self.maximumBodyBytes = maximumBodyBytes
        self.timeout = timeout
    }

    public func send(_ request: OutgoingRequest) async throws -> IncomingResponse {
        var outgoing = HTTPClientRequest(url: request.url.absoluteString)
        outgoing.method = HTTPMethod(rawValue: request.method)
        outgoing.headers.add(name: "User-Agent", value: "devicegate/\(DeviceGateVersion.current)")
        for header in request.headers { outgoing.headers.add(name: header.name, value: header.value) }
        for header in request.credentialHeaders { outgoing.headers.add(name: header.name, value: header.value.reveal()) }
        if let authorization = request.authorization {
            outgoing.headers.add(name: "Authorization", value: authorization.reveal())
        }
        if let body = request.body { outgoing.body = .bytes(ByteBuffer(string: body.reveal())) }
        let target = request.url.host.map { host in request.url.port.map { "\(host):\($0)" } ?? host } ?? "<no host>"
        do {
            let response = try await Self.client.execute(outgoing, timeout: timeout)
            let buffer = try await response.body.collect(upTo: maximumBodyBytes)
            return IncomingResponse(
                status: Int(response.status.code),
                headers: response.headers.map { ($0.name, $0.value) },
                body: Data(buffer: buffer))
        } catch let error as HTTPClientError {
            if error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout {
                throw TransportError(kind: .timedOut, target: target, detail: "")
            }
            throw TransportError(kind: .unreachable, target: target, detail: String(describing: error))
        } catch is NIOTooManyBytesError {
            throw TransportError(kind: .bodyTooLarge, target: target, detail: "\(maximumBodyBytes) bytes")
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw TransportError(kind: .unreachable, target: target, detail: Self.plain(error))
        }
    }

    /// NIO's connection errors describe themselves well; keep only the first line.
    private static func plain(_ error: any Error) -> String {
        String(describing: error).split(separator: "\n").first.map(String.init) ?? "network error"
    }
}

public enum DeviceGateVersion {
    public static let current = "0.1.0"
}
