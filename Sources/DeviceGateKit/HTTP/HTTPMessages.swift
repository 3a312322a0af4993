#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An HTTP request on its way to an identity provider or an API.
///
/// Anything that may hold a secret (the `Authorization` value, a form body with a refresh token
/// or client secret) lives in a ``Secret`` field, so printing a request, logging it or putting it
/// into an error message can never reveal a credential.
public struct OutgoingRequest: Sendable, CustomStringConvertible {
    public var method: String
    public var url: URL
    /// Non-secret headers only. Credentials go in ``authorization``.
    public var headers: [(name: String, value: String)]
    /// The whole `Authorization` header value, e.g. `Bearer …` or `Basic …`.
    public var authorization: Secret?
    /// Other headers that carry a credential, such as Azure's `X-IDENTITY-HEADER`.
    public var credentialHeaders: [(name: String, value: Secret)] = []
    public var body: Secret?

    public init(
        method: String, url: URL, headers: [(name: String, value: String)] = [],
        authorization: Secret? = nil, body: Secret? = nil
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.authorization = authorization
        self.body = body
    }

    /// A form POST as RFC 6749 requires for every token endpoint call.
    public static func form(
        _ url: URL, _ fields: [(String, String)], authorization: Secret? = nil
    ) -> OutgoingRequest {
        OutgoingRequest(
            method: "POST", url: url,
            headers: [
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Accept", Quirks.acceptJSON),
            ],
            authorization: authorization,
            body: Secret(FormEncoding.encode(fields)))
    }

    public var description: String { "\(method) \(url.redactedForDisplay)" }
}

/// An HTTP response. Its body may carry tokens, so its description never shows the body.
public struct IncomingResponse: Sendable, CustomStringConvertible, CustomReflectable {
    public let status: Int
    /// Header names are lower-cased.
    public let headers: [(name: String, value: String)]
    public let body: Data

    public init(status: Int, headers: [(name: String, value: String)], body: Data) {
        self.status = status
        self.headers = headers.map { ($0.name.lowercased(), $0.value) }
        self.body = body
    }

    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name == lower }?.value
    }

    /// The media type without parameters, lower-cased, e.g. `application/json`.
    public var mediaType: String? {
        header("content-type")?.split(separator: ";").first.map {
            $0.trimmingWhitespace().lowercased()
        }
    }

    /// A body summary safe for error messages: its type and size, never its content.
    public var shapeForDisplay: String {
        "HTTP \(status)" + (body.isEmpty ? " with an empty body" : " with a \(mediaType ?? "untyped") body of \(body.count) bytes")
    }

    public var description: String { shapeForDisplay }
    public var customMirror: Mirror { Mirror(self, children: ["status": status], displayStyle: .struct) }
}

extension URL {
    /// Scheme, host, port and path only: a query string may carry a code or token.
    public var redactedForDisplay: String {
        guard var parts = URLComponents(url: self, resolvingAgainstBaseURL: false) else { return "<url>" }
        if parts.query != nil { parts.query = "…" }
        parts.fragment = nil
        parts.user = nil
        parts.password = nil
        return parts.string ?? "<url>"
    }
}
