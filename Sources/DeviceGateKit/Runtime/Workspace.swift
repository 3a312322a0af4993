import Foundation

/// Everything a command needs, assembled once from flags and the environment: paths, config,
/// transport and time. The store is opened only when asked for, so `providers` and `--help`
/// never touch disk.
public struct Workspace: Sendable {
    public let paths: Paths
    public let config: DeviceGateConfig
    public let transport: any HTTPTransport
    public let time: any TimeSource

    public init(
        paths: Paths, config: DeviceGateConfig, transport: any HTTPTransport = AsyncHTTPTransport.shared,
        time: any TimeSource = SystemTimeSource()
    ) {
        self.paths = paths
        self.config = config
        self.transport = transport
        self.time = time
    }

    public static func load(configPath: String?, dataDir: String?, environment: [String: String] = ProcessInfo.processInfo.environment)
        throws -> Workspace
    {
        let paths = Paths(configOverride: configPath, dataDirOverride: dataDir, environment: environment)
        let config = try ConfigLoader(environment: environment).load(path: paths.configFile, required: paths.configExplicit)
        return Workspace(paths: paths, config: config)
    }

    public func store() throws -> TokenStore {
        try TokenStore(directory: paths.dataDirectory, keyFile: paths.keyFile)
    }

    public func profile(_ name: String?) throws -> Profile { try config.profile(named: name) }

    /// Refreshes are recorded in the audit log, whichever command triggers them.
    public func broker(for profile: Profile, store: TokenStore) -> TokenBroker {
        let path = auditLogPath
        let key = store.key
        return TokenBroker(
            profile: profile, store: store, transport: transport, time: time,
            onRefresh: { name in
                Task { try? await AuditLog(path: path, storeKey: key).record("refresh", ["profile": .string(name), "by": .string("cli")]) }
            })
    }

    /// `[gateway] audit_log`, or `audit.jsonl` in the data directory.
    public var auditLogPath: String { config.gateway.auditLog ?? paths.dataDirectory + "/audit.jsonl" }
}
