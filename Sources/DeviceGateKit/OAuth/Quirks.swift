#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Every provider difference devicegate knows about, each in one named place.
///
/// The rest of the code speaks plain RFC 6749 / RFC 8628. When a provider bends the standard, the
/// bend is absorbed here, documented with who does it, and covered by a test named after it
/// (`QuirksTests`).
public enum Quirks {
    /// GitHub answers `application/x-www-form-urlencoded` unless the request asks for JSON, so
    /// every OAuth request sends this `Accept` header.
    public static let acceptJSON = "application/json"

    /// Form or JSON by Content-Type (GitHub without `Accept`), falling back to sniffing the body
    /// when the type is missing or generic (`text/plain` from some gateways).
    public static func decodeBody(_ response: IncomingResponse) -> OAuthFields? {
        let body = response.body
        guard !body.isEmpty else { return nil }
        let type = response.mediaType ?? ""
        if type == "application/x-www-form-urlencoded" {
            return form(body)
        }
        if type.hasSuffix("json") { return OAuthFields.parseJSON(body) }
        if let json = OAuthFields.parseJSON(body) { return json }
        if type.hasPrefix("text/plain") || type.isEmpty { return form(body) }
        return nil  // HTML error pages and the like: not an OAuth answer
    }

    private static func form(_ body: Data) -> OAuthFields? {
        guard let text = String(data: body, encoding: .utf8), text.contains("=") else { return nil }
        var values: [String: OAuthFields.Value] = [:]
        for (key, value) in FormEncoding.decode(text) { values[key] = .string(value) }
        return OAuthFields(values)
    }

    /// Some providers send `expires_in` and `interval` as strings ("3599"); MSAL notes "Some IdP
    /// returns string", and Azure's managed identity endpoints always do.
    public static func integer(_ value: OAuthFields.Value) -> Int? {
        switch value {
        case .number(let n) where n.isFinite: Int(exactly: n.rounded(.down))
        case .string(let s): Int(s.trimmingWhitespace()) ?? Double(s).flatMap { Int(exactly: $0.rounded(.down)) }
        default: nil
        }
    }

    /// Provider spellings of the RFC 8628 §3.5 codes, mapped to the RFC's:
    /// - Microsoft: `authorization_declined` → `access_denied`; `bad_verification_code` → `invalid_grant`.
    /// - GitHub: `token_expired` (in its docs' prose) → `expired_token`; `incorrect_device_code` → `invalid_grant`.
    /// - Glewlwyd: `scope_invalid` → `invalid_scope`.
    public static func normalizedErrorCode(_ raw: String) -> String {
        switch raw {
        case "authorization_declined": "access_denied"
        case "token_expired": "expired_token"
        case "bad_verification_code", "incorrect_device_code": "invalid_grant"
        case "scope_invalid": "invalid_scope"
        default: raw
        }
    }

    /// Google calls the verification URI `verification_url`.
    public static func verificationURI(_ fields: OAuthFields) -> String? {
        fields.string("verification_uri") ?? fields.string("verification_url")
    }

    /// GitHub answers HTTP 200 with `{"error": …}` while polling, so an answer is an error when it
    /// names one, whatever its status; a token only counts when there is no `error`.
    public static func isErrorAnswer(_ fields: OAuthFields) -> Bool {
        (fields.string("error").map { !$0.isEmpty }) ?? false
    }

    /// Glewlwyd answers every refused refresh with HTTP 400 and an empty body; so may other servers
    /// behind proxies. On the refresh grant that can only mean the grant is gone.
    public static func emptyRefreshRefusal(_ response: IncomingResponse) -> OAuthErrorResponse? {
        guard response.status == 400 || response.status == 401 || response.status == 403, response.body.isEmpty else { return nil }
        return OAuthErrorResponse(
            code: "invalid_grant", description: "the provider refused the refresh token (HTTP \(response.status), no details)",
            httpStatus: response.status)
    }

    /// GitHub returns scopes comma-separated (`repo,gist`); RFC 6749 uses spaces.
    public static func scopeList(_ scope: String) -> [String] {
        scope.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
    }

    /// Glewlwyd will not let a public client revoke with `client_id` alone (401): it wants the
    /// live access token as a Bearer credential. RFC 7009 allows any client authentication, so
    /// after a 401 the revocation is retried that way, against the same issuer only.
    public static func revocationNeedsBearer(_ response: IncomingResponse) -> Bool {
        response.status == 401
    }

    /// `Retry-After` is seconds or an HTTP date (RFC 9110 §10.2.3). At most
    /// ``longestRetryAfter``: a server (or whatever answers in its place) asking for `1e300`,
    /// `inf` or a date in the year 9999 must not put devicegate to sleep for good.
    public static func retryAfter(_ response: IncomingResponse, now: Date) -> Double? {
        guard let value = response.header("retry-after")?.trimmingWhitespace() else { return nil }
        if let seconds = Double(value) { return seconds.isNaN ? nil : min(max(0, seconds), longestRetryAfter) }
        return HTTPDate.parse(value).map { min(max(0, $0.timeIntervalSince(now)), longestRetryAfter) }
    }

    /// `expires_in`, `expires_on` and `interval` as read by ``integer(_:)``, bounded to
    /// ±``longestLifetime`` seconds: nothing devicegate is handed lives ten years, and a date
    /// computed from `"9223372036854775807"` cannot be shown as seconds from now without a trap.
    public static func lifetime(_ fields: OAuthFields, _ key: String) -> Int? {
        fields.int(key).map { min(max($0, -longestLifetime), longestLifetime) }
    }

    /// Ten years, in seconds.
    public static let longestLifetime = 315_360_000

    /// Ten minutes: longer than any documented provider wait (Azure's IMDS asks for seconds).
    public static let longestRetryAfter: Double = 600
}
