#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The `[audit]` table: how often `devicegate serve` sends the audit chain's head out as a
/// witness.
public struct AuditSettings: Sendable, Equatable {
    /// Seconds between witness heads sent to the profiles' notifiers; nil (`witness_interval = 0`)
    /// sends one only when `serve` shuts down. Hourly by default: deleting the last hour's
    /// records then needs the person to miss a message.
    public var witnessInterval: Double? = 3600

    public init() {}

    static let keys = ["witness_interval"]

    static func parse(_ root: TOMLTable, path: String?) throws -> AuditSettings {
        var settings = AuditSettings()
        guard let value = root["audit"] else { return settings }
        guard let table = value.table else {
            throw ConfigError(file: path, line: root.line(of: "audit"), "`audit` must be a table: [audit]")
        }
        for key in table.keys {
            let line = table.line(of: key)
            guard keys.contains(key) else {
                throw ConfigError(file: path, line: line, "audit: unknown key `\(key)`" + ConfigLoader.suggestion(key, keys))
            }
            guard let seconds = table[key]?.int, seconds >= 0 else {
                throw ConfigError(
                    file: path, line: line, "audit.witness_interval must be a whole number of seconds (0: only when serve stops)")
            }
            settings.witnessInterval = seconds == 0 ? nil : Double(seconds)
        }
        return settings
    }
}
