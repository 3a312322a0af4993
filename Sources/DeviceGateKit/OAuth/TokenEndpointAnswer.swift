#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What a token endpoint said, in one of three shapes every caller must handle.
public enum TokenEndpointAnswer: Sendable {
    case tokens(TokenSet)
    case error(OAuthErrorResponse)
    /// Not an OAuth answer at all: an HTML page, a 500, an empty or truncated 200, a 200 without
    /// a token. It says nothing about the grant, so device-flow polling retries it.
    case unexpected(IncomingResponse)

    /// - Parameter isRefresh: an empty-bodied refusal means `invalid_grant` on the refresh grant
    ///   (``Quirks/emptyRefreshRefusal(_:)``) but says nothing on others.
    public static func classify(
        _ response: IncomingResponse, requestedScopes: [String], now: Date, isRefresh: Bool = false
    ) -> TokenEndpointAnswer {
        if let fields = OAuthFields.parse(response) {
            if Quirks.isErrorAnswer(fields), let error = OAuthErrorResponse(fields: fields, httpStatus: response.status) {
                return .error(error)
            }
            if (200..<300).contains(response.status),
                let tokens = TokenSet.from(fields, requestedScopes: requestedScopes, now: now)
            {
                return .tokens(tokens)
            }
        }
        if isRefresh, let refusal = Quirks.emptyRefreshRefusal(response) { return .error(refusal) }
        return .unexpected(response)
    }
}
