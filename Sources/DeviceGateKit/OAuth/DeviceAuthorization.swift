#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The answer to a device authorization request (RFC 8628 §3.2): what the person needs, and the
/// device code only the poller needs.
public struct DeviceAuthorization: Sendable {
    public let deviceCode: Secret
    public let userCode: String
    public let verificationURI: String
    public let verificationURIComplete: String?
    public let expiresIn: Int
    /// Seconds between polls; RFC 8628 §3.2 says 5 when the server does not say.
    public let interval: Int
    /// Microsoft's localised instructions, when sent.
    public let message: String?
    public let issuedAt: Date

    public var expiresAt: Date { issuedAt.addingTimeInterval(Double(expiresIn)) }

    public init(
        deviceCode: Secret, userCode: String, verificationURI: String, verificationURIComplete: String?,
        expiresIn: Int, interval: Int, message: String?, issuedAt: Date
    ) {
        self.deviceCode = deviceCode
        self.userCode = userCode
        self.verificationURI = verificationURI
        self.verificationURIComplete = verificationURIComplete
        self.expiresIn = expiresIn
        self.interval = interval
        self.message = message
        self.issuedAt = issuedAt
    }

    /// Reads §3.2's fields; `nil` when a required one is missing.
    static func from(_ fields: OAuthFields, now: Date) -> DeviceAuthorization? {
        guard let deviceCode = fields.string("device_code"), !deviceCode.isEmpty,
            let userCode = fields.string("user_code"), !userCode.isEmpty,
            let uri = Quirks.verificationURI(fields)
        else { return nil }
        return DeviceAuthorization(
            deviceCode: Secret(deviceCode), userCode: userCode, verificationURI: uri,
            verificationURIComplete: fields.string("verification_uri_complete"),
            // Missing expires_in is a server bug; MSAL assumes 30 minutes, so do we.
            expiresIn: Quirks.lifetime(fields, "expires_in").map { max($0, 1) } ?? 1800,
            interval: Quirks.lifetime(fields, "interval").map { max($0, 1) } ?? 5,
            message: fields.string("message"), issuedAt: now)
    }
}
