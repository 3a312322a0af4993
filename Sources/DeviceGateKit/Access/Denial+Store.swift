import HTTPTypes

extension Denial {
    /// 503 `store_unavailable`: the token store (a database) cannot be reached. The call is
    /// refused cleanly with the reason, and the next one tries again; nothing is started (no
    /// sign-in, no breaker) for a failure that is not the agent's.
    static func storeUnavailable(_ profile: String, _ error: any Error) -> Denial {
        var denial = Denial(status: .serviceUnavailable, error: "store_unavailable", profile: profile, reason: "\(error)")
        denial.retryAfter = 1
        return denial
    }
}
