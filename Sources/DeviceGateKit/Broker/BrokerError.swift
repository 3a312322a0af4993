#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Why the broker could not hand out a token.
public enum BrokerError: Error, Sendable, CustomStringConvertible {
    /// Only a new sign-in helps: not signed in, refresh refused, profile re-pointed.
    case signInRequired(profile: String, reason: String)
    /// The token expired and refreshing failed for a reason that may pass (network, 5xx).
    case refreshFailed(profile: String, reason: String)
    /// A service identity (client credentials, managed identity) could not get a token.
    case acquisitionFailed(profile: String, reason: String)

    public var description: String {
        switch self {
        case .signInRequired(let profile, let reason): "sign-in needed for \(profile): \(reason). Run `devicegate login \(profile)`."
        case .refreshFailed(let profile, let reason): "could not refresh the token for \(profile): \(reason)"
        case .acquisitionFailed(let profile, let reason): "could not get a token for \(profile): \(reason)"
        }
    }
}
