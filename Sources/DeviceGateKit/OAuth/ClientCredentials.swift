#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// How the client identifies itself at the token endpoint (RFC 6749 §2.3).
public struct OAuthClient: Sendable {
    public enum Authentication: String, Sendable, CaseIterable {
        /// Public client: `client_id` in the body, no secret.
        case none
        /// `client_secret` in the body (Google's device flow expects this).
        case post = "client_secret_post"
        /// HTTP Basic with the URL-encoded id and secret (RFC 6749 §2.3.1).
        case basic = "client_secret_basic"
        /// A JWT signed with the client's private key (RFC 7523), as Entra ID's certificate
        /// credentials require.
        case privateKeyJWT = "private_key_jwt"
    }

    public let id: String
    public let secret: Secret?
    public let authentication: Authentication
    public let assertionSigner: ClientAssertionSigner?

    public init(id: String, secret: Secret? = nil, authentication: Authentication? = nil, assertionSigner: ClientAssertionSigner? = nil) {
        self.id = id
        self.secret = secret
        self.assertionSigner = assertionSigner
        self.authentication = authentication ?? (assertionSigner != nil ? .privateKeyJWT : secret == nil ? .none : .post)
    }

    /// Adds the client's credentials to a form, returning the `Authorization` value if any.
    /// - Parameter audience: the endpoint the request goes to, which a client assertion names.
    public func authenticate(_ fields: inout [(String, String)], audience: URL, now: Date) async throws -> Secret? {
        if authentication == .privateKeyJWT, let assertionSigner {
            fields.append(("client_id", id))
            fields.append(("client_assertion_type", ClientAssertionSigner.assertionType))
            fields.append(("client_assertion", try await assertionSigner.assertion(audience: audience, now: now).reveal()))
            return nil
        }
        return authenticate(&fields)
    }

    /// The secret-based methods, which need no signing.
    public func authenticate(_ fields: inout [(String, String)]) -> Secret? {
        switch (authentication, secret) {
        case (.basic, let secret?):
            let pair = "\(FormEncoding.escape(id)):\(FormEncoding.escape(secret.reveal()))"
            return Secret("Basic " + Data(pair.utf8).base64EncodedString())
        case (.post, let secret?):
            fields.append(("client_id", id))
            fields.append(("client_secret", secret.reveal()))
            return nil
        default:
            fields.append(("client_id", id))
            return nil
        }
    }
}
