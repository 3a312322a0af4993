import ArgumentParser
import DeviceGateKit

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct Providers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "providers",
        abstract: "List the provider presets and what each needs in a profile.",
        discussion: prose(
            """
            A profile in config.toml names one of these as `provider`, plus `client_id` and `scopes`:

              [profiles.work]
              provider = "microsoft"
              tenant = "organizations"
              client_id = "00000000-0000-0000-0000-000000000000"
              scopes = ["openid", "profile", "email", "offline_access", "Mail.Read"]

            Secrets never go inline: use client_secret_env = "VAR" or client_secret_file = "/path".
            Any endpoint can be set explicitly (device_authorization_endpoint, token_endpoint,
            revocation_endpoint, userinfo_endpoint, jwks_uri).
            """))

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        if json {
            let items = ProviderKind.allCases.map {
                [
                    "name": .string($0.rawValue), "display_name": .string($0.displayName), "settings": JSONValue($0.settings),
                    "notes": .string($0.notes),
                ]
                    as JSONValue
            }
            print(String(decoding: JSONValue.array(items).encoded(), as: UTF8.self))
            return
        }
        for kind in ProviderKind.allCases {
            print("\(kind.rawValue) — \(kind.displayName)")
            for setting in kind.settings { print("    \(setting)") }
            print("    \(kind.notes)\n")
        }
    }
}
