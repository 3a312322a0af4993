#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

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

    /// Refreshes are recorded in the audit log, whichever command triggers them, with the
    /// command and the local user, before the token is handed out.
    /// - Parameters:
    ///   - store: where the tokens are (files, or a shared database).
    ///   - local: this machine's files store: its key and directory seal the audit log, which
    ///     stays per machine (one chain per replica) whatever holds the tokens.
    public func broker(for profile: Profile, store: any ProfileStore, local: TokenStore, command: String) -> TokenBroker {
        let audit = auditLog(store: local)
        let actor = AuditActor.localUser(command: command)
        return TokenBroker(
            profile: profile, store: store, transport: transport, time: time,
            onRefresh: { name in await audit.recordOrWarn("refresh", actor.merging(["profile": .string(name)]) { _, new in new }) })
    }

    /// The audit log every command of this workspace writes to.
    public func auditLog(store: TokenStore) -> AuditLog { AuditLog(path: auditLogPath, store: store) }

    /// `[gateway] audit_log`, or `audit.jsonl` in the data directory.
    public var auditLogPath: String { config.gateway.auditLog ?? paths.dataDirectory + "/audit.jsonl" }
}
