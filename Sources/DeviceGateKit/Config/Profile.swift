#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// How a profile gets its tokens.
public enum GrantKind: String, Sendable, CaseIterable {
    /// A person approves on their own device (RFC 8628); refreshed with a refresh token.
    case deviceCode = "device_code"
    /// The agent is its own client (RFC 6749 §4.4), with a secret or a certificate.
    case clientCredentials = "client_credentials"
    /// An Azure managed identity: no secret at all.
    case managedIdentity = "managed_identity"

    /// Service identities need no person: nothing to sign in to, and a stale token is simply
    /// requested again.
    public var isService: Bool { self != .deviceCode }
}

/// One named way to get tokens: a provider, a client, and the scopes to ask for.
public struct Profile: Sendable {
    public var name: String
    public var grant: GrantKind = .deviceCode
    /// For `private_key_jwt`: the PEM private key and the certificate registered with the provider.
    public var privateKeyFile: String?
    public var certificateFile: String?
    /// `key_id`: the `kid` header of the client assertion, for providers that pick the key by
    /// it; nil sends none.
    public var keyID: String?
    public var managedIdentity: ManagedIdentitySettings?
    /// What `devicegate serve` may forward for this profile; nil if it serves none.
    public var gateway: GatewaySettings?
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
        if grant == .managedIdentity, let managedIdentity { return managedIdentity.identity }
        let p = provider
        switch p.kind {
        case .oidc: return p.issuer ?? ""
        case .microsoft: return "microsoft:\(p.tenant ?? "common")"
        case .auth0, .okta: return "\(p.kind.rawValue):\(p.domain ?? ""):\(p.authorizationServer ?? "")"
        case .keycloak: return "keycloak:\(p.baseURL ?? "")/\(p.realm ?? "")"
        case .google, .github: return p.kind.rawValue
        }
    }

    /// The client as the token endpoint sees it, with its secret or signing key loaded.
    public func oauthClient() async throws -> OAuthClient {
        if let privateKeyFile, let certificateFile {
            guard let certificate = try? String(contentsOfFile: certificateFile, encoding: .utf8) else {
                throw ConfigError(file: nil, "profiles.\(name): cannot read the certificate file \(certificateFile)")
            }
            let key = try SecretSource.file(privateKeyFile).load()
            do {
                let signer = try await ClientAssertionSigner.load(
                    privateKeyPEM: key, certificatePEM: certificate, clientID: clientID, keyID: keyID)
                return OAuthClient(id: clientID, authentication: .privateKeyJWT, assertionSigner: signer)
            } catch let error as ClientAssertionSigner.Failure {
                throw ConfigError(file: nil, "profiles.\(name): \(error)")
            }
        }
        // GitHub's device flow is for public clients; its secret only serves revocation at logout.
        let defaultAuthentication: OAuthClient.Authentication? =
            provider.kind == .github && grant == .deviceCode ? OAuthClient.Authentication.none : nil
        return OAuthClient(id: clientID, secret: try clientSecret?.load(), authentication: tokenAuthentication ?? defaultAuthentication)
    }
}
