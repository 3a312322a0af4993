import Foundation

/// How the client identifies itself at the token endpoint (RFC 6749 §2.3).
public struct OAuthClient: Sendable {
    public enum Authentication: String, Sendable, CaseIterable {
        /// Public client: `client_id` in the body, no secret.
        case none
        /// `client_secret` in the body (Google's device flow expects this).
        case post = "client_secret_post"
        /// HTTP Basic with the URL-encoded id and secret (RFC 6749 §2.3.1).
        case basic = "client_secret_basic"
    }

    public let id: String
    public let secret: Secret?
    public let authentication: Authentication

    public init(id: String, secret: Secret? = nil, authentication: Authentication? = nil) {
        self.id = id
        self.secret = secret
        self.authentication = authentication ?? (secret == nil ? .none : .post)
    }

    /// Adds the client's credentials to a form, returning the `Authorization` value if any.
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
