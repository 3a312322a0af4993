#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A profile's `approve` rules and how a held call is shown: allowed calls that match one wait
/// for a person (issue 11), because some calls inside the ceiling (sending mail, deleting,
/// paying) should still need a tap on the person's phone.
public struct ApprovalPolicy: Sendable, Equatable {
    /// Same syntax as `allow`; each overlaps at least one allow rule (checked by the loader).
    public var rules: [PolicyRule]
    /// Seconds a held call waits for a decision before it is refused (`approval_timeout`).
    public var timeout: Int
    /// Whether the message shows a masked preview of a JSON or text body (`approval_preview`).
    public var preview: Bool

    public static let defaultTimeout = 120
    /// A held call keeps the agent's connection open; an hour is already more than most clients wait.
    public static let longestTimeout = 3600
    /// How long "Approve for 15 minutes" lets the same rule pass for the same agent.
    public static let window: TimeInterval = 15 * 60

    public init(rules: [PolicyRule] = [], timeout: Int = ApprovalPolicy.defaultTimeout, preview: Bool = true) {
        self.rules = rules
        self.timeout = timeout
        self.preview = preview
    }
}

/// What `devicegate token` and `devicegate exec` may do for a profile (`token_access`): they
/// hand the raw token to a process, which the gateway's rules and approvals cannot follow.
public enum TokenAccess: String, Sendable, Equatable, CaseIterable {
    /// As before: any local process of the user may take the token.
    case allow
    /// The person approves each raw token in the chat, as a held gateway call.
    case approve
    /// Refused: agents must go through the gateway.
    case deny
}
