#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The endpoints a provider publishes (OpenID Connect Discovery 1.0, RFC 8414).
public struct ProviderMetadata: Sendable, Equatable {
    public var issuer: String?
    public var deviceAuthorizationEndpoint: URL?
    public var tokenEndpoint: URL?
    public var revocationEndpoint: URL?
    public var userinfoEndpoint: URL?
    public var jwksURI: URL?
    public var grantTypesSupported: [String]?

    public init(
        issuer: String? = nil, deviceAuthorizationEndpoint: URL? = nil, tokenEndpoint: URL? = nil,
        revocationEndpoint: URL? = nil, userinfoEndpoint: URL? = nil, jwksURI: URL? = nil,
        grantTypesSupported: [String]? = nil
    ) {
        self.issuer = issuer
        self.deviceAuthorizationEndpoint = deviceAuthorizationEndpoint
        self.tokenEndpoint = tokenEndpoint
        self.revocationEndpoint = revocationEndpoint
        self.userinfoEndpoint = userinfoEndpoint
        self.jwksURI = jwksURI
        self.grantTypesSupported = grantTypesSupported
    }
}

/// Finds an issuer's metadata: `/.well-known/openid-configuration` first, then RFC 8414's
/// `/.well-known/oauth-authorization-server` (path-inserted, then appended).
public struct Discovery: Sendable {
    public let transport: any HTTPTransport

    public init(transport: any HTTPTransport) { self.transport = transport }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let issuer: String
        public let attempts: [String]
        public var description: String {
            "could not discover the identity provider at \(issuer): " + attempts.joined(separator: "; ")
                + ". Check the issuer URL, or set the endpoints in the profile."
        }
    }

    public static func candidates(for issuer: URL) -> [URL] {
        let trimmed = issuer.absoluteString.hasSuffix("/") ? String(issuer.absoluteString.dropLast()) : issuer.absoluteString
        var urls = [URL(string: trimmed + "/.well-known/openid-configuration")]
        if var parts = URLComponents(url: issuer, resolvingAgainstBaseURL: false) {
            let path = parts.path.hasSuffix("/") ? String(parts.path.dropLast()) : parts.path
            parts.path = "/.well-known/oauth-authorization-server" + path
            urls.append(parts.url)
        }
        urls.append(URL(string: trimmed + "/.well-known/oauth-authorization-server"))
        var seen = Set<URL>()
        return urls.compactMap { $0 }.filter { seen.insert($0).inserted }
    }

    public func discover(issuer: URL) async throws -> ProviderMetadata {
        var attempts: [String] = []
        for url in Self.candidates(for: issuer) {
            do {
                let response = try await transport.send(OutgoingRequest(method: "GET", url: url, headers: [("Accept", "application/json")]))
                guard response.status == 200, let fields = OAuthFields.parseJSON(response.body) else {
                    attempts.append("\(url.path) answered \(response.shapeForDisplay)")
                    continue
                }
                let metadata = Self.metadata(from: fields)
                guard metadata.tokenEndpoint != nil else {
                    attempts.append("\(url.path) names no token_endpoint")
                    continue
                }
                return metadata
            } catch let error as TransportError {
                attempts.append(error.description)
                if error.kind != .bodyTooLarge { break }  // unreachable host: other paths will not help
            }
        }
        throw Failure(issuer: issuer.absoluteString, attempts: attempts)
    }

    static func metadata(from fields: OAuthFields) -> ProviderMetadata {
        func url(_ key: String) -> URL? { fields.string(key).flatMap(URL.init(string:)) }
        return ProviderMetadata(
            issuer: fields.string("issuer"),
            deviceAuthorizationEndpoint: url("device_authorization_endpoint"),
            tokenEndpoint: url("token_endpoint"),
            revocationEndpoint: url("revocation_endpoint"),
            userinfoEndpoint: url("userinfo_endpoint"),
            jwksURI: url("jwks_uri"),
            grantTypesSupported: fields.stringList("grant_types_supported"))
    }
}
