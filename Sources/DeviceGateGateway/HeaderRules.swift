import HTTPTypes

/// Which headers cross the gateway (RFC 9110 §7.6.1 hop-by-hop rules, plus credentials).
enum HeaderRules {
    /// Never forwarded in either direction.
    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
    ]

    /// The agent's own credentials and routing hints: the gateway decides these.
    static let fromAgent: Set<String> = [
        "host", "authorization", "cookie", "proxy-authorization", "proxy-authenticate", "content-length", "forwarded",
        "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto", "x-real-ip",
    ]

    /// Headers named in `Connection` are hop-by-hop too.
    static func connectionListed(_ fields: HTTPFields) -> Set<String> {
        Set(fields[values: .connection].flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() } })
    }

    static func forwardable(_ name: String, listed: Set<String>, fromAgent: Bool) -> Bool {
        let lower = name.lowercased()
        if hopByHop.contains(lower) || listed.contains(lower) { return false }
        if fromAgent, self.fromAgent.contains(lower) || lower.hasPrefix("proxy-") { return false }
        return true
    }
}
