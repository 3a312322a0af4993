#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One allow rule: a method and a path pattern, e.g. `GET /v1.0/me/messages/**`.
///
/// `*` matches exactly one segment, `**` any number (zero or more) and may only end a pattern;
/// everything else matches a segment literally, after percent-decoding on both sides. Method
/// `*` allows any method, and `read-only` is the shorthand for `GET /**` plus `HEAD /**`.
public struct PolicyRule: Sendable, Equatable, CustomStringConvertible {
    public let method: String
    public let pattern: [String]
    public let description: String

    public init(_ text: String) throws {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard parts.count == 2 else {
            throw ConfigError(file: nil, "allow rule \"\(text)\" must be METHOD /path, e.g. \"GET /v1.0/me/messages/**\"")
        }
        let method = parts[0].uppercased()
        guard method == "*" || method.allSatisfy({ $0.isLetter }) else {
            throw ConfigError(file: nil, "allow rule \"\(text)\": \(parts[0]) is not an HTTP method")
        }
        let path: RequestPath
        do { path = try RequestPath(parts[1]) } catch { throw ConfigError(file: nil, "allow rule \"\(text)\": \(error)") }
        if let index = path.segments.firstIndex(of: "**"), index != path.segments.count - 1 {
            throw ConfigError(file: nil, "allow rule \"\(text)\": ** may only end a pattern")
        }
        self.method = method
        self.pattern = path.segments
        self.description = "\(method) \(parts[1])"
    }

    public static let readOnly: [PolicyRule] = [try! PolicyRule("GET /**"), try! PolicyRule("HEAD /**")]

    public func allows(method: String, path: RequestPath) -> Bool {
        guard self.method == "*" || self.method == method.uppercased() else { return false }
        return Self.match(pattern[...], path.segments[...])
    }

    /// Whether some call matches both rules: an `approve` rule that no `allow` rule overlaps
    /// could never hold anything, which is a mistake in the config, not a policy.
    public func overlaps(_ other: PolicyRule) -> Bool {
        guard method == "*" || other.method == "*" || method == other.method else { return false }
        return Self.overlap(pattern[...], other.pattern[...])
    }

    static func overlap(_ a: ArraySlice<String>, _ b: ArraySlice<String>) -> Bool {
        if a.first == "**" || b.first == "**" { return true }
        guard let x = a.first, let y = b.first else { return a.isEmpty && b.isEmpty }
        guard x == "*" || y == "*" || x == y else { return false }
        return overlap(a.dropFirst(), b.dropFirst())
    }

    static func match(_ pattern: ArraySlice<String>, _ segments: ArraySlice<String>) -> Bool {
        guard let head = pattern.first else { return segments.isEmpty }
        if head == "**" { return true }
        guard let segment = segments.first else { return false }
        guard head == "*" || head == segment else { return false }
        return match(pattern.dropFirst(), segments.dropFirst())
    }
}

/// What the gateway may do for a profile: its upstream, its rules, and its limits.
public struct GatewaySettings: Sendable, Equatable {
    /// Scheme, host, port and an optional base path; the only origin tokens are sent to.
    public var upstream: URL
    public var rules: [PolicyRule]
    public var readOnly: Bool
    /// Start a sign-in through the profile's notifiers when a call finds none.
    public var autoLogin: Bool
    public var requestsPerMinute: Int?
    public var requestsPerHour: Int?
    /// Which allowed calls wait for a person, and for how long.
    public var approval: ApprovalPolicy
    /// What `devicegate token` and `exec` may do for this profile, the ways around the gateway.
    public var tokenAccess: TokenAccess

    public init(
        upstream: URL, rules: [PolicyRule] = [], readOnly: Bool = false, autoLogin: Bool = false, requestsPerMinute: Int? = nil,
        requestsPerHour: Int? = nil, approval: ApprovalPolicy = ApprovalPolicy(), tokenAccess: TokenAccess = .allow
    ) {
        self.approval = approval
        self.tokenAccess = tokenAccess
        self.upstream = upstream
        self.rules = rules
        self.readOnly = readOnly
        self.autoLogin = autoLogin
        self.requestsPerMinute = requestsPerMinute
        self.requestsPerHour = requestsPerHour
    }

    /// Every rule in force, with `read_only` expanded.
    public var effectiveRules: [PolicyRule] { (readOnly ? PolicyRule.readOnly : []) + rules }

    /// The first rule that allows the call; nil means denied (the default).
    public func rule(allowing method: String, _ path: RequestPath) -> PolicyRule? {
        effectiveRules.first { $0.allows(method: method, path: path) }
    }

    /// The first `approve` rule an allowed call matches; nil means it goes through unasked.
    public func rule(needingApproval method: String, _ path: RequestPath) -> PolicyRule? {
        approval.rules.first { $0.allows(method: method, path: path) }
    }
}
