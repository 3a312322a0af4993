import DeviceGateKit
import DeviceGatePostgres
import Logging

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The store drivers this program knows, plugged into the Kit from outside: files, and
/// PostgreSQL for several gateways sharing one set of tokens.
enum Stores {
    /// Opens `[store]`, preparing a database's schema. The key is this machine's store key, so
    /// every replica must be given the same one (DEVICEGATE_KEY_FILE).
    static let open: StoreOpener = { settings, local in
        switch settings.backend {
        case .files: return local
        case .postgres: return try await PostgresStore.open(url: try url(settings), key: local.key, logger: logger())
        }
    }

    /// Opens `[store]` for `doctor`, which looks but changes nothing (no schema migration).
    static let inspect: StoreOpener = { settings, local in
        switch settings.backend {
        case .files: return local
        case .postgres: return try PostgresStore.inspect(url: try url(settings), key: local.key, logger: logger())
        }
    }

    static func url(_ settings: StoreSettings) throws -> DatabaseURL {
        guard let source = settings.url else {
            throw ConfigError(file: nil, "store.backend = \"postgres\" needs url_env or url_file")
        }
        return try DatabaseURL(try source.load("database URL"))
    }

    /// Warnings and worse, on stderr: stdout carries tokens and JSON.
    static func logger() -> Logger {
        var logger = Logger(label: "devicegate.store")
        logger.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        return logger
    }
}

extension Workspace {
    /// Runs `body` with the configured token store and this machine's files store (whose key
    /// and directory seal the audit log), and shuts the token store down however `body` ends.
    func withStores<T: Sendable>(_ body: (any ProfileStore, TokenStore) async throws -> T) async throws -> T {
        let local = try store()
        let tokens = try await Stores.open(config.store, local)
        do {
            let result = try await body(tokens, local)
            await tokens.shutdown()
            return result
        } catch {
            await tokens.shutdown()
            throw error
        }
    }
}
