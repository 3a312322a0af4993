#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Who signed in, as far as devicegate could verify.
public struct Identity: Sendable, Codable, Equatable {
    public var subject: String?
    public var name: String?
    public var email: String?
    public var username: String?
    /// `id_token` (signature checked), `userinfo`, `graph`, `github`.
    public var source: String

    public init(subject: String? = nil, name: String? = nil, email: String? = nil, username: String? = nil, source: String) {
        self.subject = subject
        self.name = name
        self.email = email
        self.username = username
        self.source = source
    }

    /// "Alice Example (alice@example.com)", or whatever part is known.
    public var displayName: String {
        let main = name ?? username ?? email ?? subject ?? "unknown user"
        if let email, email != main { return "\(main) (\(email))" }
        return main
    }
}

/// One profile's entry in the store: its tokens, and what they were issued for.
public struct StoredProfile: Sendable {
    public var profile: String
    /// The issuer or preset the tokens came from; a profile re-pointed elsewhere needs a new sign-in.
    public var issuer: String
    public var clientID: String
    public var tokens: TokenSet
    public var identity: Identity?
    public var updatedAt: Date
    /// The revision the store read this entry at (nil for an entry not read from a store): what
    /// a compare-and-swap ``ProfileStore/save(_:replacing:)`` expects to still find. Not sealed.
    public var revision: StoreRevision?

    public init(
        profile: String, issuer: String, clientID: String, tokens: TokenSet, identity: Identity?, updatedAt: Date,
        revision: StoreRevision? = nil
    ) {
        self.profile = profile
        self.issuer = issuer
        self.clientID = clientID
        self.tokens = tokens
        self.identity = identity
        self.updatedAt = updatedAt
        self.revision = revision
    }
}

/// The plaintext inside a store file's ciphertext. The only place secrets are revealed for disk.
struct StoredProfilePayload: Codable {
    var format = 1
    var profile: String
    var issuer: String
    var clientID: String
    var accessToken: String
    var refreshToken: String?
    var idToken: String?
    var tokenType: String
    var scopes: [String]
    var expiresAt: Date?
    var obtainedAt: Date
    var identity: Identity?
    var updatedAt: Date

    init(_ p: StoredProfile) {
        profile = p.profile
        issuer = p.issuer
        clientID = p.clientID
        accessToken = p.tokens.accessToken.reveal()
        refreshToken = p.tokens.refreshToken?.reveal()
        idToken = p.tokens.idToken?.reveal()
        tokenType = p.tokens.tokenType
        scopes = p.tokens.scopes
        expiresAt = p.tokens.expiresAt
        obtainedAt = p.tokens.obtainedAt
        identity = p.identity
        updatedAt = p.updatedAt
    }

    var value: StoredProfile {
        StoredProfile(
            profile: profile, issuer: issuer, clientID: clientID,
            tokens: TokenSet(
                accessToken: Secret(accessToken), refreshToken: refreshToken.map(Secret.init), idToken: idToken.map(Secret.init),
                tokenType: tokenType, scopes: scopes, expiresAt: expiresAt, obtainedAt: obtainedAt),
            identity: identity, updatedAt: updatedAt)
    }
}
