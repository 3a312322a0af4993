import DeviceGateKit

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What the profile tools share: the profiles this server serves (all configured ones, or those
/// `--profile` named), the store they are read from, and the sign-ins under way.
public struct ProfileContext: Sendable {
    let profiles: [Profile]
    /// Where tokens and holds live: files, or the shared database.
    let store: any ProfileStore
    let time: any TimeSource
    let signIns: SignIns

    /// - Parameter profiles: what this server serves; listed and offered in name order.
    public init(profiles: [Profile], store: any ProfileStore, time: any TimeSource, signIns: SignIns) {
        self.profiles = profiles.sorted { $0.name < $1.name }
        self.store = store
        self.time = time
        self.signIns = signIns
    }

    var names: [String] { profiles.map(\.name) }

    func profile(_ arguments: ToolArguments) throws(ToolArguments.Invalid) -> Profile {
        let name = try arguments.string("profile")
        guard let profile = profiles.first(where: { $0.name == name }) else {
            throw ToolArguments.Invalid(
                message: "no profile \"\(String(name.prefix(64)))\" is served here; the profiles are \(names.joined(separator: ", "))")
        }
        return profile
    }

    /// The tool's one argument, `profile`.
    func onlyProfile(_ arguments: ToolArguments) throws(ToolArguments.Invalid) -> Profile {
        try arguments.only(["profile"])
        return try profile(arguments)
    }

    /// `{"type":"object", …}` with a `profile` property limited to the served names.
    func schema(_ properties: [String: JSONValue] = [:], required: [String] = []) -> JSONValue {
        var all = properties
        all["profile"] = ["type": "string", "enum": .array(names.map(JSONValue.string)), "description": "The devicegate profile."]
        return [
            "type": "object", "properties": .object(all), "required": .array((["profile"] + required).map(JSONValue.string)),
            "additionalProperties": false,
        ]
    }
}

/// `list_profiles`: each profile's provider, scopes, sign-in state and the calls its policy
/// allows, read without refreshing anything.
public struct ListProfilesTool: MCPTool {
    let context: ProfileContext
    public let name = "list_profiles"

    public init(context: ProfileContext) { self.context = context }

    public var definition: JSONValue {
        [
            "name": .string(name), "title": "List devicegate profiles",
            "description":
                "Lists the accounts (profiles) devicegate can act as: provider, scopes, whether someone is signed in and as whom, the upstream API and the calls its policy allows. Holds no token.",
            "inputSchema": ["type": "object", "properties": [:], "additionalProperties": false],
            "annotations": ["readOnlyHint": true, "openWorldHint": false],
        ]
    }

    public func call(_ arguments: ToolArguments, caller: MCPServer.Caller) async -> ToolResult {
        do { try arguments.only([]) } catch { return .failure("invalid_arguments", error.message) }
        var items: [JSONValue] = []
        var lines: [String] = []
        for profile in context.profiles {
            let status = await ProfileStatus.read(profile, store: context.store, now: context.time.now())
            let locked = try? await context.store.hold(.locked, for: profile.name)
            let frozen = try? await context.store.hold(.frozen, for: profile.name)
            var item: [String: JSONValue] = [
                "profile": .string(profile.name), "provider": .string(status.provider), "grant": .string(profile.grant.rawValue),
                "scopes": .array(profile.scopes.map(JSONValue.string)),
                "signed_in": .bool(status.signedIn && locked == nil && frozen == nil),
            ]
            if let who = status.identity?.displayName { item["signed_in_as"] = .string(who) }
            if let problem = status.problem { item["problem"] = .string(problem) }
            if let locked { item["locked"] = .string(locked.reason) }
            if let frozen { item["frozen"] = .string(frozen.reason) }
            var line = "\(profile.name): \(status.provider), " + (status.signedIn ? "signed in" : "not signed in")
            if let who = status.identity?.displayName { line += " as \(who)" }
            if let settings = profile.gateway {
                let rules = settings.effectiveRules.map(\.description)
                item["upstream"] = .string(settings.upstream.absoluteString)
                item["allow"] = .array(rules.map(JSONValue.string))
                item["auto_login"] = .bool(settings.autoLogin)
                line += "; \(PolicyWords.summary(settings))"
            } else {
                line += "; not served by http_request (no `upstream` and `allow`)"
            }
            if locked != nil { line += "; LOCKED by the breaker" }
            if frozen != nil { line += "; FROZEN by the person" }
            items.append(.object(item))
            lines.append(line)
        }
        return ToolResult(text: lines.joined(separator: "\n"), structured: ["profiles": .array(items)])
    }
}

/// `sign_in`: starts the device flow; the person gets the code through the profile's notifiers.
public struct SignInTool: MCPTool {
    let context: ProfileContext
    public let name = "sign_in"

    public init(context: ProfileContext) { self.context = context }

    public var definition: JSONValue {
        [
            "name": .string(name), "title": "Start a sign-in",
            "description":
                "Starts a device sign-in for a profile and returns at once. devicegate sends the person a link and a short code through the profile's notifiers (for example Telegram); they approve on their own device. Tell the person to look for that message, then check sign_in_status. Calling it while a sign-in runs returns the one under way. Never ask the person for a password or a token.",
            "inputSchema": context.schema(),
            "annotations": ["readOnlyHint": false, "destructiveHint": false, "idempotentHint": true, "openWorldHint": true],
        ]
    }

    public func call(_ arguments: ToolArguments, caller: MCPServer.Caller) async -> ToolResult {
        let profile: Profile
        do { profile = try context.onlyProfile(arguments) } catch { return .failure("invalid_arguments", error.message) }
        if profile.grant.isService {
            return ToolResult(
                text: "\(profile.name) is a service identity (\(profile.grant.rawValue)): nobody signs in, the token comes on first use.",
                structured: ["profile": .string(profile.name), "state": "signed_in"])
        }
        if let lock = try? await context.store.hold(.locked, for: profile.name) {
            return .failure("locked", "\(lock.reason); a person must run `devicegate unlock \(profile.name)`")
        }
        if let frozen = try? await context.store.hold(.frozen, for: profile.name) {
            return .failure("frozen", "\(frozen.reason); the person can lift it with /unfreeze \(profile.name) in the chat")
        }
        do {
            let (state, started) = try await context.signIns.start(profile, caller: caller)
            var result = SignInStatusTool.describe(profile.name, state)
            if !started, case .running = state {
                result.text = "A sign-in for \(profile.name) is already running. " + result.text
                result.structured["already_running"] = true
            }
            return result
        } catch {
            return .failure("sign_in_failed", String(describing: error))
        }
    }
}

/// `sign_in_status`: pending, signed in as NAME, declined, expired or failed.
public struct SignInStatusTool: MCPTool {
    let context: ProfileContext
    public let name = "sign_in_status"

    public init(context: ProfileContext) { self.context = context }

    public var definition: JSONValue {
        [
            "name": .string(name), "title": "Sign-in status",
            "description":
                "Tells whether a profile is signed in (and as whom), or how the last sign-in started with sign_in went: pending, declined, expired or failed.",
            "inputSchema": context.schema(),
            "annotations": ["readOnlyHint": true, "openWorldHint": false],
        ]
    }

    public func call(_ arguments: ToolArguments, caller: MCPServer.Caller) async -> ToolResult {
        let profile: Profile
        do { profile = try context.onlyProfile(arguments) } catch { return .failure("invalid_arguments", error.message) }
        if let state = await context.signIns.state(of: profile.name) {
            let described = Self.describe(profile.name, state)
            // A sign-in that ended badly is news only until someone signs in another way.
            if described.isError, await ProfileStatus.read(profile, store: context.store, now: context.time.now()).signedIn {
                return await stored(profile)
            }
            return described
        }
        return await stored(profile)
    }

    func stored(_ profile: Profile) async -> ToolResult {
        let status = await ProfileStatus.read(profile, store: context.store, now: context.time.now())
        guard status.signedIn else {
            return ToolResult(
                text: "\(profile.name) is not signed in" + (status.problem.map { " (\($0))" } ?? "") + ". Start one with sign_in.",
                structured: ["profile": .string(profile.name), "state": "not_signed_in"])
        }
        return Self.signedIn(profile.name, status.identity)
    }

    static func signedIn(_ profile: String, _ identity: Identity?) -> ToolResult {
        var structured: [String: JSONValue] = ["profile": .string(profile), "state": "signed_in"]
        if let who = identity?.displayName { structured["signed_in_as"] = .string(who) }
        return ToolResult(text: "\(profile) is signed in" + (identity.map { " as \($0.displayName)" } ?? "") + ".", structured: structured)
    }

    static func describe(_ profile: String, _ state: SignIns.State) -> ToolResult {
        switch state {
        case .running(let code?):
            let link = code.verificationURIComplete ?? code.verificationURI
            return ToolResult(
                text:
                    "Sign-in pending for \(profile): the person opens \(link) and enters the code \(code.userCode) (sent to them by devicegate), before \(JSONTime.string(code.expiresAt)).",
                structured: [
                    "profile": .string(profile), "state": "pending", "user_code": .string(code.userCode),
                    "verification_uri": .string(code.verificationURI),
                    "verification_uri_complete": code.verificationURIComplete.map(JSONValue.string) ?? .null,
                    "expires_at": .string(JSONTime.string(code.expiresAt)),
                ])
        case .running(nil):
            return ToolResult(
                text:
                    "A sign-in for \(profile) is starting; the identity provider has not issued a code yet. Check sign_in_status shortly.",
                structured: ["profile": .string(profile), "state": "starting"])
        case .ended(.signedIn(let done)): return signedIn(profile, done.identity)
        case .ended(.alreadySignedIn(_, let identity, _)): return signedIn(profile, identity)
        case .ended(.declined(_, let message)):
            return .failure(
                "declined", "the person declined the sign-in for \(profile)" + (message.map { ": \($0)" } ?? ""),
                extra: ["state": "declined"])
        case .ended(.expired):
            return .failure("expired", "the code for \(profile) expired before the person approved it", extra: ["state": "expired"])
        case .ended(let other):
            let message = if case .failed(_, let message) = other { message } else { "ended" }
            return .failure("sign_in_failed", "the sign-in for \(profile) failed: \(message)", extra: ["state": "failed"])
        }
    }
}
