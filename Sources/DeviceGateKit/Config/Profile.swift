import Foundation

/// One named way to get tokens: a provider, a client, and the scopes to ask for.
public struct Profile: Sendable {
    public var name: String
    public var provider: ProviderSettings
    public var clientID: String
    public var clientSecret: SecretSource?
    public var tokenAuthentication: OAuthClient.Authentication?
    public var scopes: [String]
    /// Sent with the device authorization request: `audience`, `resource`, `extra_params`.
    public var extraParameters: [(String, String)]
    /// Seconds of validity a token must have left to be handed out without a refresh.
    public var minimumTTL: Int
    public var notifiers: [String]

    public init(
        name: String, provider: ProviderSettings, clientID: String, clientSecret: SecretSource? = nil,
        tokenAuthentication: OAuthClient.Authentication? = nil, scopes: [String] = [], extraParameters: [(String, String)] = [],
        minimumTTL: Int = 300, notifiers: [String] = ["console"]
    ) {
        self.name = name
        self.provider = provider
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.tokenAuthentication = tokenAuthentication
        self.scopes = scopes
        self.extraParameters = extraParameters
        self.minimumTTL = minimumTTL
        self.notifiers = notifiers
    }

    /// The provider identity tokens are bound to; a stored entry from another one is not reused.
    public var issuerIdentity: String {
        let p = provider
        switch p.kind {
        case .oidc: return p.issuer ?? ""
        case .microsoft: return "microsoft:\(p.tenant ?? "common")"
        case .auth0, .okta: return "\(p.kind.rawValue):\(p.domain ?? ""):\(p.authorizationServer ?? "")"
        case .keycloak: return "keycloak:\(p.baseURL ?? "")/\(p.realm ?? "")"
        case .google, .github: return p.kind.rawValue
        }
    }

    /// The client as the token endpoint sees it, with its secret loaded.
    public func oauthClient() throws -> OAuthClient {
        OAuthClient(id: clientID, secret: try clientSecret?.load(), authentication: tokenAuthentication)
    }
}
