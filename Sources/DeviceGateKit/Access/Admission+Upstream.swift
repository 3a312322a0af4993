import HTTPTypes
import NIOHTTP1

extension Admission {
    /// The token injected into the call.
    public var token: Secret { entry.tokens.accessToken }

    /// A bodiless GET, HEAD or OPTIONS: after a 401 it can be sent again with a refreshed
    /// token, since nothing of it was consumed.
    public var replayable: Bool {
        let chunked = hasBody && length == nil
        return [.get, .head, .options].contains(method) && (length ?? 0) == 0 && !chunked
    }

    /// The request line's target at the upstream: the upstream URL's own path, the checked path,
    /// and the query, rebuilt from what the policy matched (never the agent's bytes).
    public var upstreamTarget: String {
        // `url` is the configured upstream (scheme://authority[/base]) + the checked path: the
        // target starts at the first "/" after the authority.
        guard let scheme = url.firstRange(of: "://"), let slash = url[scheme.upperBound...].firstIndex(of: "/") else { return "/" }
        return String(url[slash...])
    }

    /// The head the upstream receives: the forwardable headers, the token as the only
    /// credential (`Host` is the pool's, from the origin), and the body's framing as the agent
    /// announced it (its length, or chunked; `Content-Length: 0` for a bodiless POST, PUT or
    /// PATCH), which the pool checks the body against.
    public func upstreamHead() -> HTTPRequestHead {
        var headers = HTTPHeaders()
        headers.reserveCapacity(self.headers.count + 2)
        for (name, value) in self.headers { headers.add(name: name, value: value) }
        headers.replaceOrAdd(name: "Authorization", value: "Bearer " + token.reveal())
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method.rawValue), uri: upstreamTarget, headers: headers)
        head.frameBody(present: hasBody, length: length)
        return head
    }

    /// The same call with the token a refresh gave after the upstream rejected the first one.
    public func renewed() async throws -> Admission {
        var next = self
        next.entry = try await gate.broker.entryAfterRejection(of: token)
        next.audit["refreshed"] = .bool(true)
        return next
    }
}
