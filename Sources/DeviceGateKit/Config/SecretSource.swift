#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Where a secret (a client secret, a database URL) comes from. Never inline in the config: a
/// config file gets copied, committed and pasted into chats; a secret belongs in the
/// environment or a secret file.
public enum SecretSource: Sendable, Equatable, CustomStringConvertible {
    case environment(String)
    case file(String)

    /// - Parameter what: what the secret is, for the error ("client secret", "database URL").
    public func load(_ what: String = "client secret") throws -> Secret {
        switch self {
        case .environment(let name):
            guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
                throw ConfigError(file: nil, "the \(what) variable \(name) is not set")
            }
            return Secret(value)
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw ConfigError(file: nil, "cannot read the \(what) file \(path)")
            }
            let value = String(decoding: data, as: UTF8.self).trimmingWhitespaceAndNewlines()
            guard !value.isEmpty else { throw ConfigError(file: nil, "the \(what) file \(path) is empty") }
            return Secret(value)
        }
    }

    public var description: String {
        switch self {
        case .environment(let name): "environment variable \(name)"
        case .file(let path): "file \(path)"
        }
    }
}
