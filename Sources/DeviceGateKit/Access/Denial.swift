import HTTPTypes

/// A refusal as plain data: the status, a machine-readable error, the human reason, and whether
/// it is recorded. The admission core produces it; each door (HTTP, later MCP) renders it.
public struct Denial: Error, Sendable, Equatable {
    public let status: HTTPResponse.Status
    public let error: String
    public let profile: String?
    public let reason: String
    public var retryAfter: Int?
    /// For the audit log and the breaker.
    public var audited = true
    /// The connection must close after the answer (its framing cannot be trusted).
    public var closeConnection = false

    public init(status: HTTPResponse.Status, error: String, profile: String?, reason: String, audited: Bool = true) {
        self.status = status
        self.error = error
        self.profile = profile
        self.reason = reason
        self.audited = audited
    }
}
