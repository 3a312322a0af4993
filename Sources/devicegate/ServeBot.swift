import DeviceGateKit
import DeviceGateTelegram

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The Telegram side of `devicegate serve`: with a bot token configured, serve polls the bot
/// itself (commands and approval presses), since Telegram allows one `getUpdates` poller per
/// token; the approver it builds shows held calls in the same chats.
struct ServeBot {
    let bot: TelegramBot
    let approver: TelegramApprover
    let held: HeldRequests

    /// Nil when no bot token is configured (approvals are then refused) or `--no-bot` is given.
    /// - Parameters:
    ///   - locks, windows: the gateway's own, so `/freeze` holds from the very next call.
    ///   - tokens: where tokens and holds live; `local`: this machine's files store (its key signs
    ///     the buttons; the audit log).
    static func make(
        workspace: Workspace, tokens: any ProfileStore, local store: TokenStore, locks: LockCache, windows: ApprovalWindows, enabled: Bool
    ) throws -> ServeBot? {
        guard enabled, workspace.config.notifierSettings.telegram.hasBotToken else { return nil }
        return try assemble(
            workspace: workspace, tokens: tokens, local: store, pollTimeout: 25, log: StandardError.write,
            killSwitch: KillSwitch(
                store: tokens, locks: locks, windows: windows, transport: workspace.transport, time: workspace.time,
                audit: workspace.auditLog(store: store)))
    }

    /// The bot with an approver on the configured chats, for `serve` and for a `token`/`exec`
    /// that waits for an approval (which polls only while it waits).
    static func assemble(
        workspace: Workspace, tokens: any ProfileStore, local store: TokenStore, pollTimeout: Int,
        log: @escaping @Sendable (String) -> Void, killSwitch: KillSwitch?
    ) throws -> ServeBot {
        let settings = workspace.config.notifierSettings.telegram
        let chats = try settings.requireCommandChats()
        let api = try BotAPI(
            settings: settings, transport: workspace.transport, pollTransport: BotRunner.pollTransport(pollTimeout: pollTimeout),
            time: workspace.time)
        let audit = workspace.auditLog(store: store)
        let held = HeldRequests(time: workspace.time)
        let approver = TelegramApprover(
            api: api, chatIDs: chats, allowedUserIDs: settings.allowedUserIDs, signer: ApprovalTicket.Signer(storeKey: store.key),
            held: held, audit: audit, time: workspace.time, log: log)
        let bot = TelegramBot(
            api: api, chatIDs: chats, allowedUserIDs: settings.allowedUserIDs, config: workspace.config, store: tokens, audit: audit,
            transport: workspace.transport, time: workspace.time,
            offsetFile: UpdateOffsetFile(path: workspace.paths.dataDirectory + "/telegram-bot.json"),
            options: TelegramBot.Options(pollTimeout: pollTimeout, log: log), approver: approver, killSwitch: killSwitch)
        return ServeBot(bot: bot, approver: approver, held: held)
    }
}
