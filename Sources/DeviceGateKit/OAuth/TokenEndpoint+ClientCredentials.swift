#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Why the client credentials grant (RFC 6749 §4.4) gave no token.
public struct ClientCredentialsFailure: Error, Sendable, CustomStringConvertible {
    public let description: String
}

extension TokenEndpoint {
    /// An agent acting as itself. There is no refresh token: when the cached token nears expiry
    /// the broker simply asks again.
    /// - Parameter extra: `audience`, `resource` and similar provider parameters.
    public func clientCredentials(scopes: [String], extra: [(String, String)] = []) async throws -> TokenSet {
        var fields: [(String, String)] = [("grant_type", "client_credentials")]
        if !scopes.isEmpty { fields.append(("scope", scopes.joined(separator: " "))) }
        fields += extra
        let response: IncomingResponse
        do {
            response = try await post(fields)
        } catch let error as TransportError {
            throw ClientCredentialsFailure(description: error.description)
        }
        switch TokenEndpointAnswer.classify(response, requestedScopes: scopes, now: time.now()) {
        case .tokens(let tokens):
            return tokens
        case .error(let error):
            throw ClientCredentialsFailure(
                description: "the identity provider refused the client credentials: \(error)" + DeviceFlow.hint(for: error))
        case .unexpected(let response) where [401, 403].contains(response.status):
            // Glewlwyd answers a wrong secret with an empty 403.
            throw ClientCredentialsFailure(
                description:
                    "the identity provider refused the client credentials (\(response.shapeForDisplay)); check client_id and the secret or certificate"
            )
        case .unexpected(let response):
            throw ClientCredentialsFailure(description: "\(url.redactedForDisplay) answered \(response.shapeForDisplay)")
        }
    }
}
