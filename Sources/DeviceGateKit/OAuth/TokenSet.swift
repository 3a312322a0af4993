#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What a grant yields: the tokens and what they are good for.
public struct TokenSet: Sendable {
    public var accessToken: Secret
    public var refreshToken: Secret?
    public var idToken: Secret?
    public var tokenType: String
    public var scopes: [String]
    /// `nil` when the provider did not say (GitHub OAuth app tokens do not expire).
    public var expiresAt: Date?
    public var obtainedAt: Date

    public init(
        accessToken: Secret, refreshToken: Secret? = nil, idToken: Secret? = nil, tokenType: String = "Bearer",
        scopes: [String] = [], expiresAt: Date? = nil, obtainedAt: Date
    ) {
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.idToken = idToken
        self.tokenType = tokenType
        self.scopes = scopes
        self.expiresAt = expiresAt
        self.obtainedAt = obtainedAt
    }

    /// True when the access token will still be valid `minimumTTL` seconds from `now`.
    public func isUsable(at now: Date, minimumTTL: Double) -> Bool {
        guard !accessToken.isEmpty else { return false }
        guard let expiresAt else { return true }
        return expiresAt.timeIntervalSince(now) > minimumTTL
    }

    /// Reads a successful token answer (RFC 6749 §5.1). `requestedScopes` stands in when the
    /// provider omits `scope`, which RFC 6749 allows when it granted what was asked.
    static func from(_ fields: OAuthFields, requestedScopes: [String], now: Date) -> TokenSet? {
        guard let access = fields.string("access_token"), !access.isEmpty else { return nil }
        let expiresIn = Quirks.lifetime(fields, "expires_in")
        // Azure managed identity sends only `expires_on` (epoch seconds) on some hosts.
        let expiresOn = fields.int("expires_on").map { epoch in
            let date = Date(timeIntervalSince1970: Double(epoch))
            let longest = Double(Quirks.longestLifetime)
            return min(max(date, now.addingTimeInterval(-longest)), now.addingTimeInterval(longest))
        }
        return TokenSet(
            accessToken: Secret(access),
            refreshToken: fields.string("refresh_token").flatMap { $0.isEmpty ? nil : Secret($0) },
            idToken: fields.string("id_token").flatMap { $0.isEmpty ? nil : Secret($0) },
            tokenType: fields.string("token_type") ?? "Bearer",
            scopes: fields.string("scope").map(Quirks.scopeList) ?? requestedScopes,
            expiresAt: expiresIn.map { now.addingTimeInterval(Double($0)) } ?? expiresOn,
            obtainedAt: now)
    }
}
