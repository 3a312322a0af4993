#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An RFC 6749 §5.2 error answer, after provider spellings were normalised.
public struct OAuthErrorResponse: Error, Sendable, Equatable, CustomStringConvertible {
    /// The normalised code (``Quirks/normalizedErrorCode(_:)``), e.g. `access_denied`.
    public let code: String
    /// What the provider actually sent, e.g. `authorization_declined`.
    public let rawCode: String
    /// `error_description`, or Microsoft's `message`. Provider prose: shown to the user as is.
    public let description_: String?
    public let uri: String?
    /// GitHub sends the new polling interval with `slow_down`.
    public let interval: Int?
    public let httpStatus: Int

    public init(code rawCode: String, description: String? = nil, uri: String? = nil, interval: Int? = nil, httpStatus: Int) {
        self.rawCode = rawCode
        self.code = Quirks.normalizedErrorCode(rawCode)
        self.description_ = description
        self.uri = uri
        self.interval = interval
        self.httpStatus = httpStatus
    }

    init?(fields: OAuthFields, httpStatus: Int) {
        guard let code = fields.string("error"), !code.isEmpty else { return nil }
        self.init(
            code: code,
            description: fields.string("error_description") ?? fields.string("message"),
            uri: fields.string("error_uri"),
            interval: Quirks.lifetime(fields, "interval"),
            httpStatus: httpStatus)
    }

    public var description: String {
        var text = rawCode
        if let d = description_, !d.isEmpty { text += ": \(d)" }
        return text
    }
}
