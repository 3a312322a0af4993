import ArgumentParser
import DeviceGateKit

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Completes profile names in bash, zsh and fish (`devicegate --generate-completion-script
/// SHELL`). On TAB the shell runs `devicegate ---completion …`, which lands here: the names come
/// from the config the command line would use (`--config`, `DEVICEGATE_CONFIG`, the XDG
/// default). It never fails loudly: an error printed into a completion garbles the person's
/// prompt, so a missing or broken config simply completes nothing.
enum ProfileCompletion {
    static let kind = CompletionKind.custom { words, _, prefix in names(words: words, prefix: prefix) }

    static func names(words: [String], prefix: String, environment: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        let paths = Paths(configOverride: configOption(in: words, environment: environment), dataDirOverride: nil, environment: environment)
        guard let config = try? ConfigLoader(environment: environment).load(path: paths.configFile, required: false) else { return [] }
        return config.profiles.keys.filter { $0.hasPrefix(prefix) }.sorted()
    }

    /// The value of `--config PATH` or `--config=PATH` as typed, with the quotes and the `~` the
    /// shell would have removed or expanded.
    static func configOption(in words: [String], environment: [String: String]) -> String? {
        var value: String?
        for (index, word) in words.enumerated() {
            if word == "--config", index + 1 < words.count {
                value = words[index + 1]
            } else if word.hasPrefix("--config=") {
                value = String(word.dropFirst("--config=".count))
            }
        }
        guard var path = value else { return nil }
        if path.count >= 2, let first = path.first, first == "\"" || first == "'", path.last == first {
            path = String(path.dropFirst().dropLast())
        }
        if path.hasPrefix("~/"), let home = environment["HOME"] { path = home + path.dropFirst() }
        return path.isEmpty ? nil : path
    }
}
