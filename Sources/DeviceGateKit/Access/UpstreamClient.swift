import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// The upstream side: one pooled AsyncHTTPClient that never follows redirects, so a token is
/// only ever sent to the profile's own upstream origin, and never decompresses, so the answer
/// can be searched for the token byte for byte.
struct UpstreamClient: Sendable {
    let client: HTTPClient

    init(config: GatewayConfig) {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(Int64(config.connectTimeout)), read: .seconds(Int64(config.readTimeout))))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        configuration.decompression = .disabled
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Sends an admitted call upstream with the token as its only credential.
    func send<Body>(_ admission: Admission, body: ByteLimit<Body>?) async throws -> HTTPClientResponse {
        var outgoing = HTTPClientRequest(url: admission.url)
        outgoing.method = HTTPMethod(rawValue: admission.method.rawValue)
        for (name, value) in admission.headers { outgoing.headers.add(name: name, value: value) }
        outgoing.headers.replaceOrAdd(name: "Authorization", value: "Bearer " + admission.entry.tokens.accessToken.reveal())
        if let body {
            outgoing.body = .stream(body, length: admission.length.map { .known(Int64($0)) } ?? .unknown)
        }
        return try await client.execute(outgoing, deadline: .distantFuture)
    }

    func shutdown() async throws { try await client.shutdown() }
}
