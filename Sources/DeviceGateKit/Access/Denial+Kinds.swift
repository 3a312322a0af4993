import HTTPTypes

/// The refusals more than one step or door produce, made in one place so that every door
/// answers them with the same status, error and words.
extension Denial {
    /// 503 `store_unavailable`: the token store (a database) cannot be reached. The call is
    /// refused cleanly with the reason, and the next one tries again; nothing is started (no
    /// sign-in, no breaker) for a failure that is not the agent's.
    static func storeUnavailable(_ profile: String, _ error: any Error) -> Denial {
        var denial = Denial(status: .serviceUnavailable, error: "store_unavailable", profile: profile, reason: "\(error)")
        denial.retryAfter = 1
        return denial
    }

    /// 413 `too_large`: the body is over `max_request_bytes`, announced or counted.
    public static func tooLarge(_ profile: String, limit: Int) -> Denial {
        Denial(status: .contentTooLarge, error: "too_large", profile: profile, reason: "the body exceeds \(limit) bytes")
    }

    /// What became of a call that was sent but got no answer to hand on: a token the upstream
    /// rejected and no refresh could replace (401 `sign_in_required`), or an upstream that did
    /// not answer (502 `upstream_unreachable`), in words that cannot carry a secret.
    public static func forwardingFailed(_ profile: String, _ error: any Error) -> Denial {
        if let error = error as? BrokerError {
            return Denial(status: .unauthorized, error: "sign_in_required", profile: profile, reason: "\(error)")
        }
        return Denial(
            status: .badGateway, error: "upstream_unreachable", profile: profile, reason: "the upstream did not answer: \(plain(error))")
    }

    /// A failure's message without anything that could carry a secret: the pool's own plain
    /// words for upstream failures, the first line of anything else.
    static func plain(_ error: any Error) -> String {
        if let error = error as? UpstreamFailure { return error.description }
        return String(describing: error).split(separator: "\n").first.map(String.init) ?? "error"
    }
}
