#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Turns a profile's provider settings into endpoints: a preset's templates, or discovery.
///
/// Presets need no network, so `devicegate token` with a cached token never waits on a provider;
/// only `oidc` profiles discover, and only when a grant actually needs an endpoint.
public struct ProviderResolver: Sendable {
    public let transport: any HTTPTransport

    public init(transport: any HTTPTransport) { self.transport = transport }

    public func resolve(_ settings: ProviderSettings) async throws -> Provider {
        var provider = try await preset(settings)
        provider = provider.overriding(settings.endpoints)
        return provider
    }

    private func preset(_ s: ProviderSettings) async throws -> Provider {
        func url(_ string: String, _ key: String) throws -> URL {
            guard let url = URL(string: string), url.scheme != nil, url.host != nil else {
                throw ProviderError.invalidURL(key: key, value: string)
            }
            return url
        }
        func required(_ value: String?, _ key: String) throws -> String {
            guard let value, !value.isEmpty else { throw ProviderError.missingSetting(provider: s.kind.rawValue, key: key) }
            return value
        }
        func standard(issuer: String, prefix: String, device: String, token: String, revoke: String?, userinfo: String, jwks: String) throws
            -> Provider
        {
            let metadata = ProviderMetadata(
                issuer: issuer, deviceAuthorizationEndpoint: try url(prefix + device, "device_authorization_endpoint"),
                tokenEndpoint: try url(prefix + token, "token_endpoint"),
                revocationEndpoint: try revoke.map { try url(prefix + $0, "revocation_endpoint") },
                userinfoEndpoint: try url(prefix + userinfo, "userinfo_endpoint"), jwksURI: try url(prefix + jwks, "jwks_uri"))
            return Provider(
                kind: s.kind, metadata: metadata, issuerCheck: .exact([issuer]),
                revocation: metadata.revocationEndpoint.map { .rfc7009($0) }
                    ?? .unsupported("\(s.kind.displayName) has no revocation endpoint"),
                profileEndpoints: metadata.userinfoEndpoint.map { [.userinfo($0)] } ?? [])
        }

        switch s.kind {
        case .microsoft:
            let tenant = FormEncoding.escape(s.tenant ?? "common")
            let base = "https://login.microsoftonline.com/\(tenant)"
            let metadata = ProviderMetadata(
                issuer: nil,
                deviceAuthorizationEndpoint: try url(base + "/oauth2/v2.0/devicecode", "tenant"),
                tokenEndpoint: try url(base + "/oauth2/v2.0/token", "tenant"),
                userinfoEndpoint: URL(string: "https://graph.microsoft.com/oidc/userinfo"),
                jwksURI: try url(base + "/discovery/v2.0/keys", "tenant"))
            return Provider(
                kind: .microsoft, metadata: metadata, issuerCheck: .microsoftTenantTemplate,
                revocation: .unsupported(
                    "Microsoft has no token revocation endpoint for this flow; sign-in sessions can be revoked at https://myaccount.microsoft.com"
                ),
                profileEndpoints: [.microsoftGraphMe])
        case .google:
            let metadata = ProviderMetadata(
                issuer: "https://accounts.google.com",
                deviceAuthorizationEndpoint: URL(string: "https://oauth2.googleapis.com/device/code"),
                tokenEndpoint: URL(string: "https://oauth2.googleapis.com/token"),
                revocationEndpoint: URL(string: "https://oauth2.googleapis.com/revoke"),
                userinfoEndpoint: URL(string: "https://openidconnect.googleapis.com/v1/userinfo"),
                jwksURI: URL(string: "https://www.googleapis.com/oauth2/v3/certs"))
            return Provider(
                kind: .google, metadata: metadata, issuerCheck: .exact(["https://accounts.google.com", "accounts.google.com"]),
                revocation: .rfc7009(metadata.revocationEndpoint!), profileEndpoints: [.userinfo(metadata.userinfoEndpoint!)])
        case .github:
            let metadata = ProviderMetadata(
                issuer: "https://github.com",
                deviceAuthorizationEndpoint: URL(string: "https://github.com/login/device/code"),
                tokenEndpoint: URL(string: "https://github.com/login/oauth/access_token"))
            let api = URL(string: "https://api.github.com")!
            return Provider(
                kind: .github, metadata: metadata, issuerCheck: .none, revocation: .github(apiBase: api),
                profileEndpoints: [.githubUser(api.appendingPathComponent("user"))])
        case .auth0:
            let domain = try required(s.domain, "domain")
            return try standard(
                issuer: "https://\(domain)/", prefix: "https://\(domain)", device: "/oauth/device/code", token: "/oauth/token",
                revoke: "/oauth/revoke", userinfo: "/userinfo", jwks: "/.well-known/jwks.json")
        case .okta:
            let domain = try required(s.domain, "domain")
            let server = s.authorizationServer ?? "default"
            let prefix = server == "org" ? "https://\(domain)/oauth2" : "https://\(domain)/oauth2/\(server)"
            return try standard(
                issuer: server == "org" ? "https://\(domain)" : prefix, prefix: prefix, device: "/v1/device/authorize",
                token: "/v1/token", revoke: "/v1/revoke", userinfo: "/v1/userinfo", jwks: "/v1/keys")
        case .keycloak:
            var base = try required(s.baseURL, "base_url")
            if base.hasSuffix("/") { base.removeLast() }
            let realm = FormEncoding.escape(try required(s.realm, "realm"))
            let issuer = "\(base)/realms/\(realm)"
            return try standard(
                issuer: issuer, prefix: issuer + "/protocol/openid-connect", device: "/auth/device", token: "/token",
                revoke: "/revoke", userinfo: "/userinfo", jwks: "/certs")
        case .oidc:
            let issuerString = try required(s.issuer, "issuer")
            let issuer = try url(issuerString, "issuer")
            let hasExplicitEndpoints = s.endpoints.tokenEndpoint != nil && s.endpoints.deviceAuthorizationEndpoint != nil
            let metadata =
                hasExplicitEndpoints
                ? ProviderMetadata(issuer: issuerString) : try await Discovery(transport: transport).discover(issuer: issuer)
            let issuers = Array(Set([metadata.issuer ?? issuerString, issuerString]))
            return Provider(
                kind: .oidc, metadata: metadata, issuerCheck: .exact(issuers),
                revocation: metadata.revocationEndpoint.map { .rfc7009($0) }
                    ?? .unsupported("the issuer publishes no revocation_endpoint"),
                profileEndpoints: metadata.userinfoEndpoint.map { [.userinfo($0)] } ?? [])
        }
    }
}

extension Provider {
    func overriding(_ explicit: ProviderMetadata) -> Provider {
        var m = metadata
        if let u = explicit.deviceAuthorizationEndpoint { m.deviceAuthorizationEndpoint = u }
        if let u = explicit.tokenEndpoint { m.tokenEndpoint = u }
        if let u = explicit.revocationEndpoint { m.revocationEndpoint = u }
        if let u = explicit.userinfoEndpoint { m.userinfoEndpoint = u }
        if let u = explicit.jwksURI { m.jwksURI = u }
        var revocation = self.revocation
        if let u = explicit.revocationEndpoint { revocation = .rfc7009(u) }
        var profiles = profileEndpoints
        if let u = explicit.userinfoEndpoint {
            profiles = [.userinfo(u)] + profiles.filter { if case .userinfo = $0 { false } else { true } }
        }
        return Provider(kind: kind, metadata: m, issuerCheck: issuerCheck, revocation: revocation, profileEndpoints: profiles)
    }
}
