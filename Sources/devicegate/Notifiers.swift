import ArgumentParser
import DeviceGateKit
import DeviceGateTelegram

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Notifier names (in `notify = [...]` and `--notify`) to notifiers, built from the config.
enum Notifiers {
    static let available = NotifierNames.all

    static func make(_ names: [String], showQR: Bool, workspace: Workspace) throws -> [any SignInNotifier] {
        let settings = workspace.config.notifierSettings
        return try names.map { name -> any SignInNotifier in
            switch name {
            case "console":
                return ConsoleNotifier(showQR: showQR)
            case "telegram":
                let api = try BotAPI(settings: settings.telegram, transport: workspace.transport, time: workspace.time)
                return TelegramNotifier(api: api, chatIDs: try settings.telegram.requireChats(), time: workspace.time)
            case "webhook":
                guard let webhook = settings.webhook else {
                    throw ConfigError(file: workspace.config.path, "the webhook notifier needs a [webhook] table with `url`")
                }
                return try WebhookNotifier(settings: webhook, transport: workspace.transport, time: workspace.time)
            case "command":
                guard let command = settings.command else {
                    throw ConfigError(file: workspace.config.path, "the command notifier needs a [command] table with `program`")
                }
                return CommandNotifier(settings: command)
            default:
                throw ConfigError(file: nil, "unknown notifier \"\(name)\"; available: \(available.joined(separator: ", "))")
            }
        }
    }
}
