#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// How a device sign-in can end other than with tokens.
public enum DeviceFlowError: Error, Sendable, CustomStringConvertible {
    /// The person said no (`access_denied`, Microsoft's `authorization_declined`).
    case declined(String?)
    /// The code expired (`expired_token`, or the `expires_in` deadline passed).
    case expired
    /// The provider stopped the flow with another error (RFC 8628 §3.5: stop polling).
    case rejected(OAuthErrorResponse)
    /// The device authorization request itself failed.
    case couldNotStart(String)

    public var description: String {
        switch self {
        case .declined(let why): "the sign-in was declined" + (why.map { " (\($0))" } ?? "")
        case .expired: "the sign-in code expired before it was approved"
        case .rejected(let error): "the identity provider stopped the sign-in: \(error)"
        case .couldNotStart(let why): "could not start the sign-in: \(why)"
        }
    }
}
