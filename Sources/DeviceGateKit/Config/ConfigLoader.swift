#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Reads `config.toml` and the environment into a ``DeviceGateConfig``.
///
/// Mistakes are reported with the line at fault and a suggestion, and unknown keys are errors:
/// a typo like `scope =` must not silently sign in with no scopes. Environment variables
/// `DEVICEGATE__<PROFILE>__<KEY>` override or define profile keys, for containers.
public struct ConfigLoader: Sendable {
    public static let profileKeys: [String] = [
        "provider", "client_id", "client_secret_env", "client_secret_file", "token_auth", "scopes", "audience", "resource",
        "extra_params", "min_ttl", "notify", "issuer", "tenant", "domain", "authorization_server", "base_url", "realm",
        "device_authorization_endpoint", "token_endpoint", "revocation_endpoint", "userinfo_endpoint", "jwks_uri",
        "grant", "private_key_file", "certificate_file", "key_id", "managed_identity", "identity_endpoint", "identity_client_id",
        "identity_object_id", "identity_resource_id", "upstream", "allow", "read_only", "auto_login", "rate_limit_per_minute",
        "rate_limit_per_hour", "approve", "approval_timeout", "approval_preview", "token_access",
    ]
    static let topLevelKeys = ["default_profile", "profiles", "gateway", "audit", "store"] + NotifierSettings.tables

    public let environment: [String: String]

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// Loads `path`; a missing file is an empty config when `required` is false.
    public func load(path: String, required: Bool) throws -> DeviceGateConfig {
        guard FileManager.default.fileExists(atPath: path) else {
            if required { throw ConfigError(file: path, "no such config file") }
            return try parse("", path: nil)
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw ConfigError(file: path, "cannot read the file") }
        // The bytes go to the parser as they are, so text that is not UTF-8 is reported at its line.
        return try parse(bytes: [UInt8](data), path: path)
    }

    public func parse(_ text: String, path: String?) throws -> DeviceGateConfig {
        try parse(bytes: Array(text.utf8), path: path)
    }

    /// Parses the bytes of a config file as they are: text that is not UTF-8 is refused at its
    /// line, like any other mistake. (`load` reads files this way; fuzzers and tests feed bytes.)
    public func parse(bytes: [UInt8], path: String?) throws -> DeviceGateConfig {
        let table: TOMLTable
        do {
            table = try TOMLParser.parse(bytes)
        } catch let error as TOMLError {
            throw ConfigError(file: path ?? "config", line: error.line, "not valid TOML (column \(error.column)): \(error.message)")
        }
        var config = DeviceGateConfig(path: path)
        for key in table.keys where !Self.topLevelKeys.contains(key) {
            throw ConfigError(
                file: path, line: table.line(of: key),
                "unknown key `\(key)`" + Self.suggestion(key, Self.topLevelKeys + ["[profiles.NAME]"]))
        }
        if let value = table["default_profile"] {
            guard let name = value.string else {
                throw ConfigError(file: path, line: table.line(of: "default_profile"), "default_profile must be a string")
            }
            config.defaultProfile = name
        }
        var raw: [String: [String: RawValue]] = [:]
        var profileLines: [String: Int] = [:]
        if let profilesValue = table["profiles"] {
            guard let profiles = profilesValue.table else {
                throw ConfigError(
                    file: path, line: table.line(of: "profiles"), "`profiles` must be a table of [profiles.NAME] tables")
            }
            for name in profiles.keys {
                guard let body = profiles[name]?.table else {
                    throw ConfigError(
                        file: path, line: profiles.line(of: name),
                        "profiles.\(name) must be a table: write [profiles.\(name)]")
                }
                profileLines[name] = body.line
                var values: [String: RawValue] = [:]
                for key in body.keys {
                    let where_ = body.line(of: key)
                    guard Self.profileKeys.contains(key) else {
                        if key == "client_secret" {
                            throw ConfigError(
                                file: path, line: where_,
                                "profiles.\(name): inline client secrets are refused; use client_secret_env = \"VAR\" or client_secret_file = \"/path\""
                            )
                        }
                        throw ConfigError(
                            file: path, line: where_, "profiles.\(name): unknown key `\(key)`" + Self.suggestion(key, Self.profileKeys))
                    }
                    guard let value = body[key] else { continue }
                    values[key] = try RawValue(value, key: "profiles.\(name).\(key)", file: path, line: where_)
                }
                raw[name] = values
            }
        }
        try applyEnvironment(to: &raw)
        config.notifierSettings = try NotifierSettings.parse(table, path: path, environment: environment)
        config.gateway = try GatewayConfig.parse(table, path: path)
        config.audit = try AuditSettings.parse(table, path: path)
        config.store = try StoreSettings.parse(table, path: path)
        // The environment wins over the file: a container picks its profile without editing config.
        if let name = environment["DEVICEGATE_PROFILE"], !name.isEmpty { config.defaultProfile = name }
        for (name, values) in raw {
            do {
                try ProfileName.validate(name)
                config.profiles[name] = try Self.profile(name, values)
            } catch let error as ConfigError {
                throw ConfigError(file: path, line: error.line ?? profileLines[name], error.message)
            } catch {
                throw ConfigError(file: path, line: profileLines[name], String(describing: error))
            }
        }
        // `/mcp` would mean both the MCP endpoint and that profile's upstream root.
        if config.gateway.mcp, config.profiles["mcp"]?.gateway != nil {
            throw ConfigError(
                file: path, line: profileLines["mcp"],
                "a profile named `mcp` cannot be served while [gateway] mcp = true (its /mcp is the MCP endpoint); rename the profile")
        }
        if let name = config.defaultProfile, config.profiles[name] == nil, !config.profiles.isEmpty {
            let fromEnvironment = environment["DEVICEGATE_PROFILE"] == name
            throw ConfigError(
                file: path, line: fromEnvironment ? nil : table.line(of: "default_profile"),
                "\(fromEnvironment ? "DEVICEGATE_PROFILE" : "default_profile") names \"\(name)\", which is not configured")
        }
        return config
    }

    /// `DEVICEGATE__WORK__CLIENT_ID=…` sets `client_id` of profile `work` (created if absent).
    func applyEnvironment(to raw: inout [String: [String: RawValue]]) throws {
        for (variable, value) in environment where variable.hasPrefix("DEVICEGATE__") {
            let parts = variable.dropFirst("DEVICEGATE__".count).components(separatedBy: "__")
            guard parts.count == 2, !parts[0].isEmpty else {
                throw ConfigError(file: nil, "\(variable): expected DEVICEGATE__<PROFILE>__<KEY>")
            }
            let key = parts[1].lowercased()
            guard Self.profileKeys.contains(key), key != "extra_params" else {
                throw ConfigError(file: nil, "\(variable): unknown profile key `\(key)`" + Self.suggestion(key, Self.profileKeys))
            }
            let name = raw.keys.first { Self.environmentName($0) == parts[0] } ?? parts[0].lowercased()
            let isList = key == "scopes" || key == "notify"
            raw[name, default: [:]][key] =
                isList
                ? .list(value.split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init))
                : key == "min_ttl" ? (Int(value).map(RawValue.int) ?? .string(value)) : .string(value)
        }
    }

    public static func environmentName(_ profile: String) -> String {
        String(profile.uppercased().map { $0.isLetter || $0.isNumber ? $0 : "_" })
    }

    static func profile(_ name: String, _ v: [String: RawValue]) throws -> Profile {
        func string(_ key: String) throws -> String? {
            guard let value = v[key] else { return nil }
            guard case .string(let s) = value else { throw ConfigError(file: nil, "profiles.\(name).\(key) must be a string") }
            return s
        }
        func url(_ key: String) throws -> URL? {
            guard let s = try string(key) else { return nil }
            guard let u = URL(string: s), u.scheme != nil, u.host != nil else {
                throw ConfigError(file: nil, "profiles.\(name).\(key) is not a URL: \(s)")
            }
            return u
        }
        func list(_ key: String) throws -> [String]? {
            guard let value = v[key] else { return nil }
            switch value {
            case .list(let items): return items
            case .string(let s): return s.split(separator: " ").map(String.init)
            default: throw ConfigError(file: nil, "profiles.\(name).\(key) must be a list of strings, e.g. [\"openid\", \"email\"]")
            }
        }
        var grant = GrantKind.deviceCode
        if let value = try string("grant") {
            guard let parsed = GrantKind(rawValue: value) else {
                throw ConfigError(
                    file: nil, "profiles.\(name).grant must be one of \(GrantKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            grant = parsed
        }
        if grant == .managedIdentity {
            return try managedIdentityProfile(name, v, string: string, url: url, list: list)
        }
        guard let providerName = try string("provider") else {
            throw ConfigError(
                file: nil, "profiles.\(name) needs `provider` (one of \(ProviderKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard let kind = ProviderKind(rawValue: providerName) else {
            throw ConfigError(
                file: nil,
                "profiles.\(name): unknown provider \"\(providerName)\"; use one of \(ProviderKind.allCases.map(\.rawValue).joined(separator: ", "))"
            )
        }
        guard let clientID = try string("client_id"), !clientID.isEmpty else {
            throw ConfigError(file: nil, "profiles.\(name) needs `client_id` (the application/client ID registered at \(kind.displayName))")
        }
        let endpoints = ProviderMetadata(
            deviceAuthorizationEndpoint: try url("device_authorization_endpoint"), tokenEndpoint: try url("token_endpoint"),
            revocationEndpoint: try url("revocation_endpoint"), userinfoEndpoint: try url("userinfo_endpoint"), jwksURI: try url("jwks_uri")
        )
        let settings = ProviderSettings(
            kind: kind, issuer: try string("issuer"), tenant: try string("tenant"), domain: try string("domain"),
            authorizationServer: try string("authorization_server"), baseURL: try string("base_url"), realm: try string("realm"),
            endpoints: endpoints)
        let required: [String] =
            switch kind {
            case .oidc: ["issuer"]
            case .auth0, .okta: ["domain"]
            case .keycloak: ["base_url", "realm"]
            default: []
            }
        for key in required where v[key] == nil {
            throw ConfigError(file: nil, "profiles.\(name): the \(kind.rawValue) provider needs `\(key)`")
        }
        if kind == .oidc, let issuer = try string("issuer"), URL(string: issuer)?.host == nil {
            throw ConfigError(file: nil, "profiles.\(name).issuer is not a URL: \(issuer)")
        }
        var secret: SecretSource?
        switch (try string("client_secret_env"), try string("client_secret_file")) {
        case (let env?, nil): secret = .environment(env)
        case (nil, let file?): secret = .file(file)
        case (nil, nil): secret = nil
        default: throw ConfigError(file: nil, "profiles.\(name): set client_secret_env or client_secret_file, not both")
        }
        let privateKeyFile = try string("private_key_file")
        let certificateFile = try string("certificate_file")
        if (privateKeyFile == nil) != (certificateFile == nil) {
            throw ConfigError(
                file: nil,
                "profiles.\(name): private_key_file and certificate_file go together (the certificate's thumbprint identifies the key)")
        }
        if grant == .clientCredentials, secret == nil, privateKeyFile == nil {
            throw ConfigError(
                file: nil,
                "profiles.\(name): client credentials need a client secret (client_secret_env or client_secret_file) or a certificate (private_key_file and certificate_file)"
            )
        }
        if grant == .deviceCode, privateKeyFile != nil {
            throw ConfigError(file: nil, "profiles.\(name): private_key_file is for grant = \"client_credentials\"")
        }
        let keyID = try string("key_id")
        if let keyID {
            guard privateKeyFile != nil else {
                throw ConfigError(
                    file: nil,
                    "profiles.\(name).key_id names the signing key of private_key_file; set private_key_file and certificate_file too")
            }
            guard !keyID.isEmpty, keyID.count <= 256, keyID.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f }) else {
                throw ConfigError(
                    file: nil, "profiles.\(name).key_id must be the key's id as the provider lists it (printable, up to 256 characters)")
            }
        }
        if kind == .google, secret == nil, grant == .deviceCode {
            throw ConfigError(
                file: nil, "profiles.\(name): Google's device flow requires the client secret; set client_secret_env or client_secret_file")
        }
        var auth: OAuthClient.Authentication?
        if let method = try string("token_auth") {
            guard let parsed = OAuthClient.Authentication(rawValue: method) else {
                throw ConfigError(file: nil, "profiles.\(name).token_auth must be client_secret_post, client_secret_basic or none")
            }
            auth = parsed
        }
        var extra: [(String, String)] = []
        if let audience = try string("audience") { extra.append(("audience", audience)) }
        if let resource = try string("resource") { extra.append(("resource", resource)) }
        if case .table(let params)? = v["extra_params"] { extra += params.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
        var minTTL = 300
        if let value = v["min_ttl"] {
            guard case .int(let n) = value, n >= 0 else {
                throw ConfigError(file: nil, "profiles.\(name).min_ttl must be a whole number of seconds")
            }
            minTTL = n
        }
        var profile = Profile(
            name: name, provider: settings, clientID: clientID, clientSecret: secret, tokenAuthentication: auth,
            scopes: try list("scopes") ?? [], extraParameters: extra, minimumTTL: minTTL, notifiers: try notifiers(name, list))
        profile.grant = grant
        profile.privateKeyFile = privateKeyFile
        profile.certificateFile = certificateFile
        profile.keyID = keyID
        profile.gateway = try gatewaySettings(name, v, string: string, url: url, list: list)
        return profile
    }

    /// `upstream`, `allow`, `read_only`, `auto_login` and the rate limits: what `serve` may do.
    static func gatewaySettings(
        _ name: String, _ v: [String: RawValue], string: (String) throws -> String?, url: (String) throws -> URL?,
        list: (String) throws -> [String]?
    ) throws -> GatewaySettings? {
        let keys = [
            "allow", "read_only", "auto_login", "rate_limit_per_minute", "rate_limit_per_hour", "approve", "approval_timeout",
            "approval_preview", "token_access",
        ]
        guard let upstream = try url("upstream") else {
            if let stray = keys.first(where: { v[$0] != nil }) {
                throw ConfigError(file: nil, "profiles.\(name).\(stray) needs `upstream` (the API the gateway forwards to)")
            }
            return nil
        }
        guard upstream.scheme == "https" || upstream.scheme == "http", upstream.query == nil else {
            throw ConfigError(file: nil, "profiles.\(name).upstream must be an http(s) URL without a query: \(upstream.absoluteString)")
        }
        func flag(_ key: String, default fallback: Bool = false) throws -> Bool {
            guard let value = v[key] else { return fallback }
            guard case .bool(let b) = value else { throw ConfigError(file: nil, "profiles.\(name).\(key) must be true or false") }
            return b
        }
        func limit(_ key: String) throws -> Int? {
            guard let value = v[key] else { return nil }
            guard case .int(let n) = value, n > 0 else {
                throw ConfigError(file: nil, "profiles.\(name).\(key) must be a positive whole number")
            }
            return n
        }
        var rules: [PolicyRule] = []
        for text in try list("allow") ?? [] {
            do { rules.append(try PolicyRule(text)) } catch let error as ConfigError {
                throw ConfigError(file: nil, "profiles.\(name): \(error.message)")
            }
        }
        var settings = GatewaySettings(
            upstream: upstream, rules: rules, readOnly: try flag("read_only"), autoLogin: try flag("auto_login"),
            requestsPerMinute: try limit("rate_limit_per_minute"), requestsPerHour: try limit("rate_limit_per_hour"))
        if settings.effectiveRules.isEmpty {
            throw ConfigError(
                file: nil,
                "profiles.\(name): the gateway denies everything without rules; add allow = [\"GET /v1.0/me\"] or read_only = true")
        }
        settings.approval = ApprovalPolicy(
            rules: try approveRules(name, list("approve") ?? [], allowed: settings.effectiveRules),
            timeout: try limit("approval_timeout") ?? ApprovalPolicy.defaultTimeout, preview: try flag("approval_preview", default: true))
        guard settings.approval.timeout <= ApprovalPolicy.longestTimeout else {
            throw ConfigError(
                file: nil,
                "profiles.\(name).approval_timeout must be at most \(ApprovalPolicy.longestTimeout) seconds: the agent's connection waits that long"
            )
        }
        if let access = try string("token_access") {
            guard let parsed = TokenAccess(rawValue: access) else {
                throw ConfigError(
                    file: nil,
                    "profiles.\(name).token_access must be one of \(TokenAccess.allCases.map(\.rawValue).joined(separator: ", ")), not \"\(access)\""
                )
            }
            settings.tokenAccess = parsed
        }
        return settings
    }

    /// `approve` rules: the allow syntax, and each must overlap an allow rule; one that no
    /// allowed call can match would look like protection and hold nothing.
    static func approveRules(_ name: String, _ texts: [String], allowed: [PolicyRule]) throws -> [PolicyRule] {
        try texts.map { text in
            let rule: PolicyRule
            do { rule = try PolicyRule(text) } catch let error as ConfigError {
                throw ConfigError(file: nil, "profiles.\(name).approve: \(error.message)")
            }
            guard allowed.contains(where: rule.overlaps) else {
                throw ConfigError(
                    file: nil,
                    "profiles.\(name).approve: \"\(text)\" matches no call that `allow` permits; approval only holds allowed calls, so allow it too (or remove the rule)"
                )
            }
            return rule
        }
    }

    static func notifiers(_ name: String, _ list: (String) throws -> [String]?) throws -> [String] {
        let names = try list("notify") ?? ["console"]
        if let unknown = names.first(where: { !NotifierNames.all.contains($0) }) {
            throw ConfigError(
                file: nil,
                "profiles.\(name).notify: unknown notifier \"\(unknown)\"; use \(NotifierNames.all.joined(separator: ", "))"
                    + suggestion(unknown, NotifierNames.all))
        }
        return names
    }

    /// `grant = "managed_identity"`: no provider, client or secret; a resource and a host.
    static func managedIdentityProfile(
        _ name: String, _ v: [String: RawValue], string: (String) throws -> String?, url: (String) throws -> URL?,
        list: (String) throws -> [String]?
    ) throws -> Profile {
        for key in ["client_id", "client_secret_env", "client_secret_file", "private_key_file", "certificate_file", "key_id", "issuer"]
        where v[key] != nil {
            throw ConfigError(
                file: nil,
                "profiles.\(name): `\(key)` does not apply to a managed identity (use identity_client_id for a user-assigned identity)")
        }
        guard let resource = try string("resource") else {
            throw ConfigError(file: nil, "profiles.\(name): a managed identity needs `resource`, e.g. \"https://graph.microsoft.com\"")
        }
        var kind = ManagedIdentitySettings.Kind.auto
        if let value = try string("managed_identity") {
            guard let parsed = ManagedIdentitySettings.Kind(rawValue: value) else {
                throw ConfigError(
                    file: nil,
                    "profiles.\(name).managed_identity must be one of \(ManagedIdentitySettings.Kind.allCases.map(\.rawValue).joined(separator: ", "))"
                )
            }
            kind = parsed
        }
        let settings = ManagedIdentitySettings(
            kind: kind, resource: resource, endpoint: try url("identity_endpoint"), clientID: try string("identity_client_id"),
            objectID: try string("identity_object_id"), resourceID: try string("identity_resource_id"))
        if [settings.clientID, settings.objectID, settings.resourceID].compactMap({ $0 }).count > 1 {
            throw ConfigError(
                file: nil, "profiles.\(name): set at most one of identity_client_id, identity_object_id and identity_resource_id")
        }
        var minTTL = 300
        if case .int(let n)? = v["min_ttl"] { minTTL = n }
        var profile = Profile(
            name: name, provider: ProviderSettings(kind: .microsoft, tenant: "managed-identity"), clientID: settings.clientID ?? "",
            scopes: [resource], minimumTTL: minTTL, notifiers: try notifiers(name, list))
        profile.grant = .managedIdentity
        profile.managedIdentity = settings
        profile.gateway = try gatewaySettings(name, v, string: string, url: url, list: list)
        return profile
    }

    static func suggestion(_ key: String, _ known: [String]) -> String {
        let best = known.min { distance($0, key) < distance($1, key) }
        guard let best, distance(best, key) <= max(2, key.count / 3) else { return "" }
        return "; did you mean `\(best)`?"
    }

    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        var row = Array(0...b.count)
        for i in 1...max(a.count, 1) where !a.isEmpty {
            var previous = row[0]
            row[0] = i
            for j in 1...max(b.count, 1) where !b.isEmpty {
                let old = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] == b[j - 1] ? 0 : 1))
                previous = old
            }
        }
        return row[b.count]
    }
}

/// A config value reduced to the shapes devicegate accepts.
enum RawValue: Sendable, Equatable {
    case string(String)
    case int(Int)
    case bool(Bool)
    case list([String])
    case table([String: String])

    init(_ value: TOMLValue, key: String, file: String?, line: Int?) throws {
        if let s = value.string {
            self = .string(s)
        } else if let b = value.bool {
            self = .bool(b)
        } else if let n = value.int {
            self = .int(n)
        } else if let array = value.array {
            var items: [String] = []
            for item in array {
                guard let s = item.string else { throw ConfigError(file: file, line: line, "\(key) must hold only strings") }
                items.append(s)
            }
            self = .list(items)
        } else if let table = value.table {
            var values: [String: String] = [:]
            for k in table.keys {
                guard let s = table[k]?.string else {
                    throw ConfigError(file: file, line: table.line(of: k) ?? line, "\(key).\(k) must be a string")
                }
                values[k] = s
            }
            self = .table(values)
        } else {
            throw ConfigError(file: file, line: line, "\(key) has an unsupported type (\(value.typeName))")
        }
    }
}
