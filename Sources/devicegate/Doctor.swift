import ArgumentParser
import DeviceGateKit

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct Doctor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the config, the store and each provider, and say what is wrong.",
        discussion: prose(
            """
            Parses the config (naming the line at fault), opens the store (directory and key
            permissions, key source), and for each profile checks the client secret, resolves the
            provider (discovery for oidc), asks whether it offers the device sign-in, and reads the
            stored entry.

            Exit codes: 0 nothing failed (warnings allowed) · 1 something failed · 78 the config
            itself cannot be read (the line at fault is named).
            """))

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print the checks as JSON.")
    var json = false

    func run() async throws {
        let checks = await DeviceGateKit.Doctor().run(configPath: global.config, dataDir: global.dataDir, openStore: Stores.inspect)
        if json {
            let objects = checks.map {
                ["level": .string($0.level.rawValue), "subject": .string($0.subject), "detail": .string($0.detail)] as JSONValue
            }
            print(String(decoding: JSONValue.array(objects).encoded(), as: UTF8.self))
        } else {
            for check in checks {
                let mark =
                    switch check.level {
                    case .ok: "✓"
                    case .warning: "!"
                    case .failure: "✗"
                    }
                print("\(mark) \(check.subject): \(check.detail)")
            }
        }
        // A config that cannot be read is a configuration error, as for every other command.
        if checks.contains(where: { $0.level == .failure && $0.subject == "config" }) { throw ExitCode(Exit.configuration) }
        if checks.contains(where: { $0.level == .failure }) { throw ExitCode(Exit.failed) }
    }
}
