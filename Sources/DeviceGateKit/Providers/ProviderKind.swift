#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The providers devicegate knows by name, and what each needs in a profile.
public enum ProviderKind: String, Sendable, CaseIterable, Codable {
    case microsoft, google, github, auth0, okta, keycloak, oidc

    public var displayName: String {
        switch self {
        case .microsoft: "Microsoft Entra ID"
        case .google: "Google"
        case .github: "GitHub"
        case .auth0: "Auth0"
        case .okta: "Okta"
        case .keycloak: "Keycloak"
        case .oidc: "OpenID Connect issuer"
        }
    }

    /// Profile keys this provider reads besides `client_id` and `scopes`; `?` marks optional ones.
    public var settings: [String] {
        switch self {
        case .microsoft: ["tenant? (common | organizations | consumers | a tenant ID or domain; default common)"]
        case .google: ["client_secret_env or client_secret_file (Google requires the \"TVs and Limited Input\" client's secret)"]
        case .github: ["client_secret_env or client_secret_file? (only to revoke tokens at logout)"]
        case .auth0: ["domain (e.g. example.eu.auth0.com)", "audience? (your API identifier)"]
        case .okta: ["domain (e.g. example.okta.com)", "authorization_server? (default \"default\"; \"org\" for the org server)"]
        case .keycloak: ["base_url (e.g. https://sso.example.com)", "realm"]
        case .oidc: ["issuer (discovered through /.well-known/openid-configuration, then RFC 8414)"]
        }
    }

    public var notes: String {
        switch self {
        case .microsoft:
            "Enable \"Allow public client flows\" on the app registration. Add offline_access to scopes for a refresh token. No revocation endpoint: logout deletes locally."
        case .google: "Only a limited set of scopes works with the device flow (openid, email, profile, some Drive and YouTube scopes)."
        case .github: "Enable \"Device Flow\" in the OAuth app's settings. Scopes are GitHub scopes (repo, read:org, …)."
        case .auth0: "A Native application with the Device Code grant. Add offline_access for a refresh token."
        case .okta: "A Native OIDC app with the Device Authorization and Refresh Token grants."
        case .keycloak: "Enable \"OAuth 2.0 Device Authorization Grant\" on the client."
        case .oidc: "Any standards-compliant issuer with a device_authorization_endpoint."
        }
    }
}

/// The provider-specific part of a profile, as written in the config.
public struct ProviderSettings: Sendable, Equatable {
    public var kind: ProviderKind
    public var issuer: String?
    public var tenant: String?
    public var domain: String?
    public var authorizationServer: String?
    public var baseURL: String?
    public var realm: String?
    /// Explicit endpoints override presets and discovery alike.
    public var endpoints: ProviderMetadata

    public init(
        kind: ProviderKind, issuer: String? = nil, tenant: String? = nil, domain: String? = nil,
        authorizationServer: String? = nil, baseURL: String? = nil, realm: String? = nil,
        endpoints: ProviderMetadata = ProviderMetadata()
    ) {
        self.kind = kind
        self.issuer = issuer
        self.tenant = tenant
        self.domain = domain
        self.authorizationServer = authorizationServer
        self.baseURL = baseURL
        self.realm = realm
        self.endpoints = endpoints
    }
}
