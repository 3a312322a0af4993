/// How a gateway door starts a sign-in for the person when a call finds no valid token and the
/// profile has `auto_login`. The program supplies it (it knows the profile's notifiers: a chat,
/// a webhook); the access core only knows that a person can be asked.
public protocol SignInStarter: Sendable {
    /// Runs one device-flow sign-in to the end (the code goes to the person), throwing if it
    /// fails or is declined.
    func signIn(_ profile: Profile) async throws
}

/// How the person is told something that needs them now: a breaker lock, a tampered audit log.
/// Alerts never carry a secret; delivery is best effort and never fails a call.
public protocol PersonAlerter: Sendable {
    func alert(_ message: String, about profile: Profile) async
}

/// What the access core counts. A door's program decides where the numbers go (Prometheus for
/// `serve`); the core never touches a global metrics system.
public protocol AccessMetrics: Sendable {
    /// One answered call: forwarded, or refused with `outcome` as its error.
    func countRequest(profile: String?, outcome: String, status: Int)
    /// A forwarded call's duration and the answer's body size.
    func observe(profile: String, duration: Duration, bytes: Int)
    func breakerTripped(profile: String)
}

/// Counts nothing: for doors with nowhere to publish numbers (the stdio MCP server, tests).
public struct NoAccessMetrics: AccessMetrics {
    public init() {}
    public func countRequest(profile: String?, outcome: String, status: Int) {}
    public func observe(profile: String, duration: Duration, bytes: Int) {}
    public func breakerTripped(profile: String) {}
}

/// How a door says its caller went away (the agent hung up), so a call held for approval is
/// withdrawn: its message is edited and nothing is sent. Asked only once a call is held, so
/// ordinary calls register nothing.
public protocol CallerPresence: Sendable {
    /// Runs `action` once the caller is gone, at once if it already is.
    func whenGone(_ action: @escaping @Sendable () -> Void)
}
