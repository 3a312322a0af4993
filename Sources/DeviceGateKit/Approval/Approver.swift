#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Whatever shows a held request to a person and lets them decide: the Telegram bot today.
/// The core knows this protocol only, so adapters plug in from outside and the decision
/// (``ApprovalDesk``) is the same for every door (HTTP, MCP, `token`/`exec`).
///
/// An approver never decides by itself: the person's answer comes back through
/// ``HeldRequests/decide(_:_:by:)``, which makes each request single-use and lets it expire.
public protocol Approver: Sendable {
    /// Shows the request with its buttons. Throws when it cannot be shown, and the call is
    /// then refused: a request nobody can see must not wait for its timeout.
    func present(_ request: ApprovalRequest) async throws
    /// Says how the request ended (approved and what came of it, denied, timed out, withdrawn),
    /// replacing the buttons, so no live button lingers. Never throws: the call's fate is
    /// already sealed, and a failure is the approver's to log.
    func conclude(_ request: ApprovalRequest, _ verdict: ApprovalVerdict, result: String?) async
}
