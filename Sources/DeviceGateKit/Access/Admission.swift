import HTTPTypes

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A call the gateway has decided to forward: what to send, where, and with which token.
public struct Admission: Sendable {
    public let gate: Gatekeeper.Gate
    /// The agent's name from its key ("local" when no keys are configured).
    public let agent: String
    public let rule: PolicyRule
    /// The `approve` rule the call matched: a person decides before it is sent.
    public let approvalRule: PolicyRule?
    public let method: HTTPRequest.Method
    /// The checked, encoded path without the profile, and the query: what the person is shown.
    public let path: String
    public let query: String?
    /// The agent's `Content-Type`, for the approval preview.
    public let contentType: String?
    /// The upstream URL, rebuilt from the checked path (never the agent's bytes).
    public let url: String
    /// The agent's headers that may cross, without its credentials and routing hints.
    public let headers: [(name: String, value: String)]
    /// The announced body length, if any.
    public let length: Int?
    public let hasBody: Bool
    var entry: StoredProfile
    /// What the audit record of the call says so far.
    public internal(set) var audit: [String: AuditValue]
}

/// The gateway's decision, without any server framework: a request head in, an ``Admission``
/// or a ``Denial`` out. The steps run in a fixed order, each cheaper than the next and none
/// revealing more than the caller may know: target form → agent key → profile → frozen/locked →
/// rate limit → checked path → policy rule (and whether a person must approve it) → size → token.
/// The approval itself waits for the body, so the ``Forwarder`` holds the call.
///
/// The decision is one synchronous pass, ``attempt(_:refusal:audit:found:)``, that stops where it
/// would need the store or the identity provider (a hold not read within the second, a rate
/// limit a shared store counts, a token not in memory) and says which. The gateway's event
/// loops run that pass alone and admit most calls without a task or a hop; ``admit(_:refusal:audit:found:)``
/// fetches what the pass asked for and runs it again, keeping what earlier passes found, so
/// every step, the rate limiter's count included, happens once.
public struct AdmissionCore: Sendable {
    let keeper: Gatekeeper

    public init(_ keeper: Gatekeeper) { self.keeper = keeper }

    /// What a pass could not know by itself, once fetched, and what it already did.
    public struct Lookups: Sendable {
        /// The profile's hold as read from the store (nil inside: none).
        var hold: LockCache.Hold??
        /// The call was counted against the rate limits (and admitted by them).
        var counted = false
        /// A shared store's verdict on the rate limits.
        var shared: SharedRateVerdict?
        var entry: StoredProfile?

        public init() {}
    }

    /// Where one pass ended.
    public enum Step: Sendable {
        case admitted(Admission)
        /// Refused; feed the breaker with `trip` (if any) before answering.
        case denied(Denial, trip: Breaker.Signal?)
        /// The pass needs the store or the identity provider: ``admit(_:refusal:audit:found:)`` fetches it.
        case needs(Lookup)
    }

    /// What a pass asks for.
    public enum Lookup: Sendable {
        case hold, sharedRate, token
    }

    /// The whole decision: passes until one ends, fetching what each asks for.
    /// - Parameter found: what an earlier synchronous pass found (the event loop's).
    public func admit(
        _ head: HTTPRequest, refusal: TransportRefusal?, audit: inout [String: AuditValue], found: Lookups = Lookups()
    ) async throws(Denial) -> Admission {
        var found = found
        while true {
            switch attempt(head, refusal: refusal, audit: &audit, found: &found) {
            case .admitted(let admission): return admission
            case .denied(let denial, let trip):
                if let trip, let profile = denial.profile { await keeper.trip(profile, trip) }
                throw denial
            case .needs(let lookup):
                try await fetch(lookup, for: head, into: &found)
            }
        }
    }

    private func fetch(_ lookup: Lookup, for head: HTTPRequest, into found: inout Lookups) async throws(Denial) {
        let name = RequestTarget.profileName(of: head.path ?? "")
        guard let gate = keeper.profiles[name] else { return }
        switch lookup {
        case .hold:
            do { found.hold = .some(try await keeper.locks.hold(for: name)) } catch { throw Denial.storeUnavailable(name, error) }
        case .sharedRate:
            let (perMinute, perHour) = (gate.settings.requestsPerMinute, gate.settings.requestsPerHour)
            do { found.shared = try await keeper.tokens.admitCall(name, perMinute: perMinute, perHour: perHour) ?? .admitted } catch {
                throw Denial.storeUnavailable(name, error)
            }
        case .token:
            do {
                found.entry = try await gate.broker.validEntry()
            } catch let error as StoreUnavailable {
                // The database is down or restarting: nothing a sign-in would cure.
                throw Denial.storeUnavailable(name, error)
            } catch {
                let started = keeper.startSignInIfAllowed(gate)
                throw Denial(
                    status: .unauthorized, error: "sign_in_required", profile: name,
                    reason: "\(error)" + (started ? " A sign-in was started; the person has been sent the code. Retry in a minute." : ""))
            }
        }
    }

    /// One synchronous pass over the steps, with what `found` holds.
    /// - Parameter refusal: what the transport found wrong below HTTPTypes (a non-origin-form
    ///   target, unusable framing), if anything.
    public func attempt(
        _ head: HTTPRequest, refusal: TransportRefusal?, audit: inout [String: AuditValue], found: inout Lookups
    ) -> Step {
        // 1. Origin-form only, and framing that means one thing.
        if let refusal {
            var denial =
                refusal == .overloaded
                ? Denial(status: .serviceUnavailable, error: "overloaded", profile: nil, reason: refusal.reason, audited: false)
                : Denial(status: .badRequest, error: "bad_request", profile: nil, reason: refusal.reason)
            denial.closeConnection = refusal.closesConnection
            return .denied(denial, trip: nil)
        }
        let target = head.path ?? ""
        guard target.hasPrefix("/") else {
            return .denied(
                Denial(status: .badRequest, error: "bad_request", profile: nil, reason: TransportRefusal.absoluteForm.reason), trip: nil)
        }

        // 2. Who is calling, before anything about profiles is revealed.
        let agent: String
        do { agent = try keeper.agent(for: head.headerFields) } catch { return .denied(error, trip: nil) }
        audit["agent"] = .string(agent)

        // 3. Which profile.
        let name = RequestTarget.profileName(of: target)
        // What is recorded of a path that was not accepted: never its query (it may carry
        // secrets), and not without bound.
        let pathOnly = String(target.prefix { $0 != "?" }.prefix(200))
        guard let gate = keeper.profiles[name] else {
            audit["path"] = .string(pathOnly)
            return .denied(
                Denial(status: .notFound, error: "unknown_profile", profile: nil, reason: "no profile \"\(name)\" is served here"),
                trip: nil)
        }
        audit["profile"] = .string(name)

        // 4. Frozen by the person, or locked by the breaker? A store that cannot say is no "no".
        let now = keeper.time.now()
        if found.hold == nil, keeper.locks.isKnownUnheld(name, at: now) { found.hold = .some(nil) }
        guard let hold = found.hold else { return .needs(.hold) }
        if let hold {
            return .denied(
                Denial(
                    status: .init(code: 423, reasonPhrase: "Locked"), error: hold.kind == .frozen ? "frozen" : "locked", profile: name,
                    reason: hold.kind == .frozen
                        ? "\(hold.lock.reason); the person can lift it with /unfreeze \(name) in the chat"
                        : "\(hold.lock.reason); a person must run `devicegate unlock \(name)`"), trip: nil)
        }

        // 5. Rate limits: a store shared by several replicas counts for all of them; files leave
        //    it to memory.
        let (perMinute, perHour) = (gate.settings.requestsPerMinute, gate.settings.requestsPerHour)
        if !found.counted, perMinute != nil || perHour != nil {
            let wait: Double?
            if keeper.tokens.sharesRateLimits {
                guard let shared = found.shared else { return .needs(.sharedRate) }
                if case .wait(let seconds) = shared { wait = seconds } else { wait = nil }
            } else {
                wait = keeper.limiter.admit(name, perMinute: perMinute, perHour: perHour, now: now)
            }
            if let wait {
                var denial = Denial(
                    status: .tooManyRequests, error: "rate_limited", profile: name, reason: "the profile's rate limit is reached")
                denial.retryAfter = Int(wait.rounded(.up))
                return .denied(denial, trip: nil)
            }
            found.counted = true
        }

        // 6. A path that cannot mean two things.
        let checked: RequestTarget
        do { checked = try RequestTarget(target) } catch {
            audit["path"] = .string(String(pathOnly.dropFirst(1 + name.count)))
            return .denied(Denial(status: .badRequest, error: "ambiguous_path", profile: name, reason: error.description), trip: .denial)
        }
        let path = checked.path
        audit["path"] = .string(path.encoded)

        // 7. Policy.
        let method = head.method.rawValue
        guard let rule = gate.settings.rule(allowing: method, path) else {
            return .denied(
                Denial(status: .forbidden, error: "forbidden", profile: name, reason: "no rule allows \(method) \(path.encoded)"),
                trip: .denial)
        }
        audit["rule"] = .string(rule.description)
        let approvalRule = gate.settings.rule(needingApproval: method, path)
        if let approvalRule { audit["approve_rule"] = .string(approvalRule.description) }

        // 8. Size limit, when announced.
        let lengths = head.headerFields[values: .contentLength]
        let length = lengths.first.flatMap(Int.init)
        if let length, length > keeper.config.maxRequestBytes {
            return .denied(Denial.tooLarge(name, limit: keeper.config.maxRequestBytes), trip: nil)
        }

        // 9. A valid token, or a sign-in for the person.
        if found.entry == nil { found.entry = gate.broker.cachedEntry() }
        guard let entry = found.entry else { return .needs(.token) }

        let listed = HeaderRules.connectionListed(head.headerFields)
        var headers: [(name: String, value: String)] = []
        for field in head.headerFields where HeaderRules.forwardable(field.name.canonicalName, listed: listed, fromAgent: true) {
            headers.append((field.name.rawName, field.value))
        }
        headers.append(("Accept-Encoding", "identity"))
        let hasBody = !lengths.isEmpty || head.headerFields[.transferEncoding] != nil
        var url = gate.upstreamBase + path.encoded
        if let query = checked.query { url += "?" + query }
        return .admitted(
            Admission(
                gate: gate, agent: agent, rule: rule, approvalRule: approvalRule, method: head.method, path: path.encoded,
                query: checked.query, contentType: head.headerFields[.contentType], url: url, headers: headers, length: length,
                hasBody: hasBody, entry: entry, audit: audit))
    }
}

/// What the connection handler saw wrong in a request before it became an HTTPTypes request.
public enum TransportRefusal: String, Sendable {
    case absoluteForm = "absolute-form"
    case asteriskForm = "asterisk-form"
    case transferEncoding = "transfer-encoding"
    case contentLength = "content-length"
    case overloaded = "overloaded"

    public var reason: String {
        switch self {
        case .absoluteForm, .asteriskForm: "only origin-form request targets (/PROFILE/path) are accepted"
        case .transferEncoding: "Transfer-Encoding other than a single `chunked` is refused (with or without Content-Length)"
        case .contentLength: "conflicting or malformed Content-Length headers"
        case .overloaded: "the gateway has as many connections as it is configured for (gateway.max_connections); retry shortly"
        }
    }

    /// The body's framing cannot be trusted: answer, then close.
    public var closesConnection: Bool { self == .transferEncoding || self == .contentLength || self == .overloaded }
}
