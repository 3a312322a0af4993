#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Why `devicegate token` or `exec` will not hand out a profile's raw token. The CLI maps it to
/// exit 77 (EX_NOPERM): the caller is not allowed, which retrying will not change.
public struct RawTokenRefusal: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) { self.description = description }
}

/// The check `token` and `exec` make before any token is loaded: a raw token leaves the
/// gateway's rules, approvals and audit behind, so a frozen profile never hands one out, and
/// `token_access` decides for the rest.
public enum RawTokenAccess {
    /// - Returns: ``TokenAccess/allow`` or ``TokenAccess/approve`` (the caller then asks the person).
    /// - Throws: ``RawTokenRefusal`` when frozen or `token_access = "deny"`; the store's error
    ///   when it cannot say whether the profile is frozen (never read as "not frozen").
    public static func check(_ profile: Profile, store: any ProfileStore, gateway: GatewayConfig) async throws -> TokenAccess {
        if let frozen = try await store.hold(.frozen, for: profile.name) {
            throw RawTokenRefusal(
                "profile \(profile.name) is \(frozen.reason): no token is handed out until the person sends /unfreeze \(profile.name) in the chat"
            )
        }
        let access = profile.gateway?.tokenAccess ?? .allow
        if access == .deny {
            let base = gateway.socket.map { "the gateway's socket \($0)" } ?? "http://\(gateway.listen)"
            throw RawTokenRefusal(
                "profile \(profile.name) has token_access = \"deny\": its raw token is not handed out. Call the API through the gateway instead (\(base)/\(profile.name)/…), which adds the token itself"
            )
        }
        return access
    }
}
