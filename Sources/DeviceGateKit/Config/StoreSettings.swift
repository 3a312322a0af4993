#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The `[store]` table: where tokens and holds are kept.
///
/// `files` (the default) keeps everything in the data directory; `postgres` shares one set of
/// tokens between several gateways through a database. The database URL may carry a password,
/// so, like a client secret, it is never written inline: it comes from the environment or a
/// secret file (``SecretSource``).
public struct StoreSettings: Sendable, Equatable {
    public enum Backend: String, Sendable, CaseIterable {
        case files
        case postgres
    }

    public var backend: Backend = .files
    /// Where the PostgreSQL URL comes from (`url_env` or `url_file`).
    public var url: SecretSource?

    public init(backend: Backend = .files, url: SecretSource? = nil) {
        self.backend = backend
        self.url = url
    }

    static let keys = ["backend", "url_env", "url_file"]

    static func parse(_ root: TOMLTable, path: String?) throws -> StoreSettings {
        var settings = StoreSettings()
        guard let value = root["store"] else { return settings }
        guard let table = value.table else {
            throw ConfigError(file: path, line: root.line(of: "store"), "`store` must be a table: [store]")
        }
        func string(_ key: String) throws -> String? {
            guard let value = table[key] else { return nil }
            guard let text = value.string, !text.isEmpty else {
                throw ConfigError(file: path, line: table.line(of: key), "store.\(key) must be a non-empty string")
            }
            return text
        }
        for key in table.keys where !keys.contains(key) {
            if key == "url" {
                throw ConfigError(
                    file: path, line: table.line(of: key),
                    "store.url: an inline database URL is refused (it may carry a password); use url_env = \"VAR\" or url_file = \"/path\"")
            }
            throw ConfigError(file: path, line: table.line(of: key), "store: unknown key `\(key)`" + ConfigLoader.suggestion(key, keys))
        }
        if let name = try string("backend") {
            guard let backend = Backend(rawValue: name) else {
                throw ConfigError(
                    file: path, line: table.line(of: "backend"),
                    "store.backend must be one of \(Backend.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))")
            }
            settings.backend = backend
        }
        switch (try string("url_env"), try string("url_file")) {
        case (let env?, nil): settings.url = .environment(env)
        case (nil, let file?): settings.url = .file(file)
        case (nil, nil): settings.url = nil
        default: throw ConfigError(file: path, line: table.line(of: "url_file"), "store: set url_env or url_file, not both")
        }
        switch (settings.backend, settings.url) {
        case (.postgres, nil):
            throw ConfigError(file: path, line: table.line(of: "backend"), "store.backend = \"postgres\" needs url_env or url_file")
        case (.files, .some):
            throw ConfigError(
                file: path, line: table.line(of: "backend"), "store: url_env and url_file are only for backend = \"postgres\"")
        default: break
        }
        return settings
    }
}
