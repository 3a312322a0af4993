#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A provider with every endpoint resolved: what the grants, identity lookup and logout use.
public struct Provider: Sendable {
    public let kind: ProviderKind
    public let metadata: ProviderMetadata
    /// How an id_token's `iss` is checked. Microsoft's multi-tenant endpoints issue per tenant.
    public let issuerCheck: IssuerCheck
    public let revocation: RevocationMethod
    /// Where to ask who signed in when there is no verifiable id_token, in order.
    public let profileEndpoints: [ProfileEndpoint]

    public enum IssuerCheck: Sendable, Equatable {
        case exact([String])
        /// `https://login.microsoftonline.com/{tid}/v2.0` where `{tid}` is the token's `tid` claim.
        case microsoftTenantTemplate
        case none
    }

    public enum ProfileEndpoint: Sendable, Equatable {
        case userinfo(URL)
        case microsoftGraphMe
        case githubUser(URL)
    }

    public var displayName: String { kind.displayName }

    public func deviceAuthorizationEndpoint() throws -> URL {
        guard let url = metadata.deviceAuthorizationEndpoint else { throw ProviderError.noDeviceFlow(kind.displayName) }
        return url
    }

    public func tokenEndpoint() throws -> URL {
        guard let url = metadata.tokenEndpoint else { throw ProviderError.missingEndpoint("token_endpoint") }
        return url
    }
}

public enum ProviderError: Error, Sendable, CustomStringConvertible {
    case noDeviceFlow(String)
    case missingEndpoint(String)
    case missingSetting(provider: String, key: String)
    case invalidURL(key: String, value: String)

    public var description: String {
        switch self {
        case .noDeviceFlow(let name): "\(name) publishes no device_authorization_endpoint: it does not offer the device sign-in"
        case .missingEndpoint(let key): "the provider publishes no \(key)"
        case .missingSetting(let provider, let key): "the \(provider) provider needs `\(key)` in the profile"
        case .invalidURL(let key, let value): "`\(key)` is not a valid URL: \(value)"
        }
    }
}
