import Foundation
import HTTPTypes

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
public struct AdmissionCore: Sendable {
    let keeper: Gatekeeper

    public init(_ keeper: Gatekeeper) { self.keeper = keeper }

    /// - Parameter refusal: what the transport found wrong below HTTPTypes (a non-origin-form
    ///   target, unusable framing), if anything.
    public func admit(_ head: HTTPRequest, refusal: TransportRefusal?, audit: inout [String: AuditValue]) async throws(Denial) -> Admission
    {
        // 1. Origin-form only, and framing that means one thing.
        if let refusal {
            var denial =
                refusal == .overloaded
                ? Denial(status: .serviceUnavailable, error: "overloaded", profile: nil, reason: refusal.reason, audited: false)
                : Denial(status: .badRequest, error: "bad_request", profile: nil, reason: refusal.reason)
            denial.closeConnection = refusal.closesConnection
            throw denial
        }
        let target = head.path ?? ""
        guard target.hasPrefix("/") else {
            throw Denial(status: .badRequest, error: "bad_request", profile: nil, reason: TransportRefusal.absoluteForm.reason)
        }

        // 2. Who is calling, before anything about profiles is revealed.
        let agent = try keeper.agent(for: head.headerFields)
        audit["agent"] = .string(agent)

        // 3. Which profile.
        let name = RequestTarget.profileName(of: target)
        // What is recorded of a path that was not accepted: never its query (it may carry
        // secrets), and not without bound.
        let pathOnly = String(target.prefix { $0 != "?" }.prefix(200))
        guard let gate = keeper.profiles[name] else {
            audit["path"] = .string(pathOnly)
            throw Denial(status: .notFound, error: "unknown_profile", profile: nil, reason: "no profile \"\(name)\" is served here")
        }
        audit["profile"] = .string(name)

        // 4. Frozen by the person, or locked by the breaker? A store that cannot say is no "no".
        let hold: LockCache.Hold?
        do { hold = try await keeper.locks.hold(for: name) } catch { throw Denial.storeUnavailable(name, error) }
        if let hold {
            throw Denial(
                status: .init(code: 423, reasonPhrase: "Locked"), error: hold.kind == .frozen ? "frozen" : "locked", profile: name,
                reason: hold.kind == .frozen
                    ? "\(hold.lock.reason); the person can lift it with /unfreeze \(name) in the chat"
                    : "\(hold.lock.reason); a person must run `devicegate unlock \(name)`")
        }

        // 5. Rate limits.
        let (perMinute, perHour) = (gate.settings.requestsPerMinute, gate.settings.requestsPerHour)
        var shared: SharedRateVerdict?
        if perMinute != nil || perHour != nil {
            // A store shared by several replicas counts for all of them; files leave it to memory.
            do { shared = try await keeper.tokens.admitCall(name, perMinute: perMinute, perHour: perHour) } catch {
                throw Denial.storeUnavailable(name, error)
            }
        }
        let wait: Double? =
            switch shared {
            case .admitted: nil
            case .wait(let seconds): seconds
            case nil: await keeper.limiter.admit(name, perMinute: perMinute, perHour: perHour, now: keeper.time.now())
            }
        if let wait {
            var denial = Denial(
                status: .tooManyRequests, error: "rate_limited", profile: name, reason: "the profile's rate limit is reached")
            denial.retryAfter = Int(wait.rounded(.up))
            throw denial
        }

        // 6. A path that cannot mean two things.
        let checked: RequestTarget
        do { checked = try RequestTarget(target) } catch {
            audit["path"] = .string(String(pathOnly.dropFirst(1 + name.count)))
            await keeper.trip(name, .denial)
            throw Denial(status: .badRequest, error: "ambiguous_path", profile: name, reason: error.description)
        }
        let path = checked.path
        audit["path"] = .string(path.encoded)

        // 7. Policy.
        let method = head.method.rawValue
        guard let rule = gate.settings.rule(allowing: method, path) else {
            await keeper.trip(name, .denial)
            throw Denial(status: .forbidden, error: "forbidden", profile: name, reason: "no rule allows \(method) \(path.encoded)")
        }
        audit["rule"] = .string(rule.description)
        let approvalRule = gate.settings.rule(needingApproval: method, path)
        if let approvalRule { audit["approve_rule"] = .string(approvalRule.description) }

        // 8. Size limit, when announced.
        let lengths = head.headerFields[values: .contentLength]
        let length = lengths.first.flatMap(Int.init)
        if let length, length > keeper.config.maxRequestBytes {
            throw Denial(
                status: .contentTooLarge, error: "too_large", profile: name,
                reason: "the body exceeds \(keeper.config.maxRequestBytes) bytes")
        }

        // 9. A valid token, or a sign-in for the person.
        let entry: StoredProfile
        do {
            entry = try await gate.broker.validEntry()
        } catch let error as StoreUnavailable {
            // The database is down or restarting: nothing a sign-in would cure.
            throw Denial.storeUnavailable(name, error)
        } catch {
            let started = keeper.startSignInIfAllowed(gate)
            throw Denial(
                status: .unauthorized, error: "sign_in_required", profile: name,
                reason: "\(error)" + (started ? " A sign-in was started; the person has been sent the code. Retry in a minute." : ""))
        }

        let listed = HeaderRules.connectionListed(head.headerFields)
        var headers: [(name: String, value: String)] = []
        for field in head.headerFields where HeaderRules.forwardable(field.name.canonicalName, listed: listed, fromAgent: true) {
            headers.append((field.name.rawName, field.value))
        }
        headers.append(("Accept-Encoding", "identity"))
        let hasBody = !lengths.isEmpty || head.headerFields[.transferEncoding] != nil
        var url = gate.upstreamBase + path.encoded
        if let query = checked.query { url += "?" + query }
        return Admission(
            gate: gate, agent: agent, rule: rule, approvalRule: approvalRule, method: head.method, path: path.encoded, query: checked.query,
            contentType: head.headerFields[.contentType], url: url, headers: headers, length: length, hasBody: hasBody, entry: entry,
            audit: audit)
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
