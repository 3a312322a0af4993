#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Where devicegate keeps its config and data, following the XDG base directory spec.
public struct Paths: Sendable {
    public let configFile: String
    /// Whether the config path was named explicitly (then it must exist).
    public let configExplicit: Bool
    public let dataDirectory: String
    public let keyFile: String?

    public init(configOverride: String?, dataDirOverride: String?, environment env: [String: String] = ProcessInfo.processInfo.environment)
    {
        let home = env["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path
        func xdg(_ variable: String, _ fallback: String) -> String {
            if let value = env[variable], value.hasPrefix("/") { return value }
            return home + "/" + fallback
        }
        if let path = configOverride ?? env["DEVICEGATE_CONFIG"].flatMap({ $0.isEmpty ? nil : $0 }) {
            configFile = path
            configExplicit = true
        } else {
            configFile = xdg("XDG_CONFIG_HOME", ".config") + "/devicegate/config.toml"
            configExplicit = false
        }
        dataDirectory =
            dataDirOverride ?? env["DEVICEGATE_DATA_DIR"].flatMap { $0.isEmpty ? nil : $0 }
            ?? (xdg("XDG_DATA_HOME", ".local/share") + "/devicegate")
        keyFile = env["DEVICEGATE_KEY_FILE"].flatMap { $0.isEmpty ? nil : $0 }
    }
}
