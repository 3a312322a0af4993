import HTTPTypes

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Which headers cross the gateway (RFC 9110 §7.6.1 hop-by-hop rules, plus credentials, and
/// the hints some upstreams use to rewrite the method or path the policy checked).
public enum HeaderRules {
    /// Never forwarded in either direction.
    public static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
    ]

    /// The agent's own credentials and routing hints: the gateway decides these.
    public static let fromAgent: Set<String> = [
        "host", "authorization", "cookie", "proxy-authorization", "proxy-authenticate", "content-length", "forwarded",
        "x-real-ip", "x-client-ip", "true-client-ip", "client-ip", "cf-connecting-ip", "via",
        // Method and URL overrides: upstreams that honour them would run another method or
        // path than the one the policy allowed.
        "x-http-method-override", "x-http-method", "x-method-override", "x-original-url", "x-original-uri", "x-original-method",
        "x-rewrite-url", "x-override-url", "x-middleware-subrequest", "x-envoy-original-path",
        // The gateway asks for an unencoded answer, so that it can keep the token out of it.
        "accept-encoding",
    ]

    /// Whole families of routing hints from the agent.
    public static let fromAgentPrefixes = ["proxy-", "x-forwarded-", "x-original-", "x-rewrite-", "x-envoy-"]

    /// What an upstream may not hand to the agent: cookies are the upstream's session with the
    /// gateway's credentials, not the agent's.
    public static let fromUpstream: Set<String> = ["set-cookie", "set-cookie2"]

    /// Headers named in `Connection` are hop-by-hop too.
    public static func connectionListed(_ values: [String]) -> Set<String> {
        var names = Set<String>()
        for value in values {
            for name in value.split(separator: ",") { names.insert(name.trimmingWhitespace().lowercased()) }
        }
        return names
    }

    public static func connectionListed(_ fields: HTTPFields) -> Set<String> { connectionListed(fields[values: .connection]) }

    public static func forwardable(_ name: String, listed: Set<String>, fromAgent: Bool) -> Bool {
        let lower = name.lowercased()
        if hopByHop.contains(lower) || listed.contains(lower) { return false }
        if fromAgent {
            if self.fromAgent.contains(lower) || fromAgentPrefixes.contains(where: lower.hasPrefix) { return false }
        } else if fromUpstream.contains(lower) {
            return false
        }
        return true
    }
}
