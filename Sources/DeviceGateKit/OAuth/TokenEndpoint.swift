#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A provider's token endpoint as one client sees it. Every grant that ends there (refresh,
/// client credentials) goes through ``post(_:)``: client authentication, the form, and turning
/// "no answer at all" into a ``TransportError`` happen in one place.
public struct TokenEndpoint: Sendable {
    public let url: URL
    public let client: OAuthClient
    public let transport: any HTTPTransport
    public let time: any TimeSource

    public init(url: URL, client: OAuthClient, transport: any HTTPTransport, time: any TimeSource) {
        self.url = url
        self.client = client
        self.transport = transport
        self.time = time
    }

    /// Sends a grant's fields with the client's credentials added.
    func post(_ grantFields: [(String, String)]) async throws -> IncomingResponse {
        var fields = grantFields
        let authorization = try await client.authenticate(&fields, audience: url, now: time.now())
        return try await transport.send(.form(url, fields, authorization: authorization))
    }
}
