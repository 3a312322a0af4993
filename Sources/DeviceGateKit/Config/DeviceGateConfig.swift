#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The parsed configuration: named profiles and which one is the default.
public struct DeviceGateConfig: Sendable {
    public var path: String?
    public var defaultProfile: String?
    public var profiles: [String: Profile]
    /// The `[telegram]`, `[webhook]` and `[command]` tables and the `TELEGRAM_*` variables.
    public var notifierSettings = NotifierSettings()
    public var gateway = GatewayConfig()
    /// The `[audit]` table.
    public var audit = AuditSettings()
    /// The `[store]` table: files here, or a database shared by several gateways.
    public var store = StoreSettings()

    public init(path: String? = nil, defaultProfile: String? = nil, profiles: [String: Profile] = [:]) {
        self.path = path
        self.defaultProfile = defaultProfile
        self.profiles = profiles
    }

    /// The profile to use when the command line names none.
    public func profile(named name: String?) throws -> Profile {
        if let name {
            guard let profile = profiles[name] else {
                let known = profiles.keys.sorted()
                throw ConfigError(
                    file: path,
                    "there is no profile \"\(name)\""
                        + (known.isEmpty ? "; the config defines none" : "; known profiles: \(known.joined(separator: ", "))"))
            }
            return profile
        }
        if let name = defaultProfile { return try profile(named: name) }
        if profiles.count == 1, let only = profiles.values.first { return only }
        if profiles.isEmpty {
            throw ConfigError(file: path, "no profiles are configured; add a [profiles.NAME] table (see `devicegate providers`)")
        }
        throw ConfigError(
            file: path,
            "several profiles are configured (\(profiles.keys.sorted().joined(separator: ", "))): name one, or set default_profile or DEVICEGATE_PROFILE"
        )
    }
}
