#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Why a refresh (RFC 6749 §6) gave no tokens.
public enum RefreshFailure: Error, Sendable, CustomStringConvertible {
    /// The refresh token is dead (`invalid_grant` or equivalent): only a new sign-in helps.
    case refused(OAuthErrorResponse)
    /// Nothing useful came back; the refresh token may still be good, so it is kept.
    case unavailable(String)

    public var description: String {
        switch self {
        case .refused(let error): "the identity provider refused the refresh token: \(error)"
        case .unavailable(let why): "could not refresh: \(why)"
        }
    }
}

extension TokenEndpoint {
    /// Exchanges the refresh token. The answer keeps the old refresh token when the provider did
    /// not rotate it, and the old id token (refresh answers usually have none).
    public func refresh(_ current: TokenSet, scopes: [String]) async throws -> TokenSet {
        guard let refreshToken = current.refreshToken else {
            throw RefreshFailure.refused(OAuthErrorResponse(code: "invalid_grant", description: "no refresh token is held", httpStatus: 0))
        }
        let response: IncomingResponse
        do {
            response = try await post([("grant_type", "refresh_token"), ("refresh_token", refreshToken.reveal())])
        } catch let error as TransportError {
            throw RefreshFailure.unavailable(error.description)
        }
        switch TokenEndpointAnswer.classify(
            response, requestedScopes: current.scopes.isEmpty ? scopes : current.scopes, now: time.now(), isRefresh: true)
        {
        case .tokens(var fresh):
            if fresh.refreshToken == nil { fresh.refreshToken = current.refreshToken }
            if fresh.idToken == nil { fresh.idToken = current.idToken }
            return fresh
        case .error(let error)
        where ["invalid_grant", "invalid_token", "access_denied", "unauthorized_client", "invalid_client"].contains(error.code):
            throw RefreshFailure.refused(error)
        case .error(let error):
            throw RefreshFailure.unavailable(error.description)
        case .unexpected(let response):
            throw RefreshFailure.unavailable("\(url.redactedForDisplay) answered \(response.shapeForDisplay)")
        }
    }
}
