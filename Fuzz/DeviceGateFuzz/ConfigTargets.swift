import DeviceGateKit
import Foundation

/// config.toml as a person (or a neighbour with write access to it) may leave it: parsed, every
/// profile checked, and each provider resolved from its settings (presets offline; `oidc`
/// discovery meets a network that is down).
enum ConfigTarget {
    static func run(_ data: Data) {
        let text = String(decoding: data, as: UTF8.self)
        guard let config = try? ConfigLoader(environment: [:]).parse(text, path: "fuzz.toml") else { return }
        _ = try? config.profile(named: nil)
        for profile in config.profiles.values {
            _ = profile.issuerIdentity
            _ = runBlocking { try? await ProviderResolver(transport: CannedTransport()).resolve(profile.provider) }
            if let gateway = profile.gateway, let path = try? RequestPath("/a/b") {
                _ = gateway.rule(allowing: "GET", path)
            }
        }
    }
}

/// The `[telegram]`, `[webhook]` and `[command]` tables with the `TELEGRAM_*` variables that
/// override them: line 1 is TELEGRAM_CHAT_ID, line 2 TELEGRAM_API_BASE, the rest the config.
enum NotifierTarget {
    static func run(_ data: Data) {
        var reader = InputReader(data)
        let chatIDs = reader.line()
        let apiBase = reader.line()
        let environment = [
            "TELEGRAM_CHAT_ID": chatIDs, "TELEGRAM_API_BASE": apiBase, "TELEGRAM_BOT_TOKEN": "1:fuzz", "HOOK_URL": apiBase,
        ]
        guard let config = try? ConfigLoader(environment: environment).parse(reader.restText, path: "fuzz.toml") else { return }
        let settings = config.notifierSettings
        _ = try? settings.telegram.requireChats()
        _ = settings.telegram.tokenSource.description
        _ = settings.webhook?.url.isEmpty
        _ = settings.command.map { ($0.program, $0.arguments, $0.timeout) }
    }
}
