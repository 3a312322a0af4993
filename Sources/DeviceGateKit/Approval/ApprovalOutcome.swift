#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The person who pressed a button, as the chat names them: an id that cannot be changed and a
/// display name that can, both recorded.
public struct ApprovalPerson: Sendable, Equatable {
    /// The chat's user id (Telegram's `from.id`), as text so no adapter's type leaks in.
    public let id: String
    public let name: String

    public init(id: String, name: String) {
        self.id = id
        self.name = name
    }
}

/// What a person chose with a button.
public enum ApprovalAnswer: String, Sendable, CaseIterable {
    case approveOnce = "o"
    /// The same rule for the same agent passes unasked for ``ApprovalPolicy/window``.
    case approveForWindow = "w"
    case deny = "d"
}

/// How a hold ended, before anything was forwarded.
public enum ApprovalVerdict: Sendable, Equatable {
    case approved(by: ApprovalPerson, forWindow: Bool)
    /// A 15-minute approval of the same rule for the same agent covers it: no message.
    case coveredByWindow(until: Date)
    case denied(by: ApprovalPerson)
    case timedOut
    /// The caller went away (the agent disconnected, the CLI was interrupted).
    case withdrawn
    /// Nobody could be asked: no approver, or the message could not be sent.
    case unavailable(reason: String)

    public var isApproved: Bool {
        switch self {
        case .approved, .coveredByWindow: true
        default: false
        }
    }

    /// The JSON `error` a refused caller gets.
    public var error: String {
        switch self {
        case .approved, .coveredByWindow: ""
        case .denied: "approval_denied"
        case .timedOut: "approval_timeout"
        case .withdrawn: "approval_withdrawn"
        case .unavailable: "approval_unavailable"
        }
    }

    /// What the audit record's `outcome` says.
    public var auditName: String {
        switch self {
        case .approved(_, let window): window ? "approved_for_window" : "approved"
        case .coveredByWindow: "approved_by_window"
        case .denied: "denied"
        case .timedOut: "timed_out"
        case .withdrawn: "withdrawn"
        case .unavailable: "unavailable"
        }
    }
}
