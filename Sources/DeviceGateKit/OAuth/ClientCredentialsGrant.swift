import Foundation

/// The client credentials grant (RFC 6749 §4.4): an agent acting as itself.
///
/// There is no refresh token: when the cached token nears expiry the broker simply asks again.
public struct ClientCredentialsGrant: Sendable {
    public let tokenEndpoint: URL
    public let client: OAuthClient
    public let transport: any HTTPTransport
    public let time: any TimeSource

    public init(tokenEndpoint: URL, client: OAuthClient, transport: any HTTPTransport, time: any TimeSource) {
        self.tokenEndpoint = tokenEndpoint
        self.client = client
        self.transport = transport
        self.time = time
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// - Parameter extra: `audience`, `resource` and similar provider parameters.
    public func acquire(scopes: [String], extra: [(String, String)] = []) async throws -> TokenSet {
        var fields: [(String, String)] = [("grant_type", "client_credentials")]
        if !scopes.isEmpty { fields.append(("scope", scopes.joined(separator: " "))) }
        fields += extra
        let authorization = try await client.authenticate(&fields, audience: tokenEndpoint, now: time.now())
        let response: IncomingResponse
        do {
            response = try await transport.send(.form(tokenEndpoint, fields, authorization: authorization))
        } catch let error as TransportError {
            throw Failure(description: error.description)
        }
        switch TokenEndpointAnswer.classify(response, requestedScopes: scopes, now: time.now()) {
        case .tokens(let tokens):
            return tokens
        case .error(let error):
            throw Failure(description: "the identity provider refused the client credentials: \(error)" + DeviceFlow.hint(for: error))
        case .unexpected(let response) where [401, 403].contains(response.status):
            // Glewlwyd answers a wrong secret with an empty 403.
            throw Failure(
                description:
                    "the identity provider refused the client credentials (\(response.shapeForDisplay)); check client_id and the secret or certificate"
            )
        case .unexpected(let response):
            throw Failure(description: "\(tokenEndpoint.redactedForDisplay) answered \(response.shapeForDisplay)")
        }
    }
}
