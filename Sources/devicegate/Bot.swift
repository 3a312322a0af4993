import ArgumentParser
import DeviceGateKit
import DeviceGateTelegram

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct Bot: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bot",
        abstract: "Serve a Telegram chat: sign in, check and sign out from the chat.",
        discussion: prose(
            """
            Long-polls the Bot API and answers only the chats in TELEGRAM_CHAT_ID
            (or [telegram] chat_ids) and, when [telegram] allowed_user_ids is set,
            only those people; anything else is ignored and logged on stderr. A
            group chat (negative id) needs allowed_user_ids, or
            allow_all_members = true to let every member command the bot.

              /auth [profile]     sends a link and a code; approve on your phone
                                  and the message turns into "signed in as …"
              /status [profile]   who is signed in, and until when
              /logout [profile]   revokes at the provider, deletes the tokens
              /profiles, /help, /start

            The bot never sends a token into the chat. Only one program may poll
            a bot: give devicegate its own rather than sharing an OpenClaw
            gateway's. Stops cleanly on SIGTERM or SIGINT.

            Environment: TELEGRAM_BOT_TOKEN (from @BotFather), TELEGRAM_CHAT_ID,
            and TELEGRAM_API_BASE for a local Bot API server.

            Exit codes: 0 stopped by a signal · 1 other error · 78 config error
            or a bot token Telegram refuses.
            """))

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Seconds each getUpdates call waits for a message.", valueName: "seconds"))
    var pollTimeout = 25

    func validate() throws {
        if !(1...50).contains(pollTimeout) { throw ValidationError("--poll-timeout must be between 1 and 50") }
    }

    func run() async throws {
        try await reportingErrors {
            let workspace = try global.workspace()
            let settings = workspace.config.notifierSettings.telegram
            let chats = try settings.requireCommandChats()
            let api = try BotAPI(
                settings: settings, transport: workspace.transport, pollTransport: BotRunner.pollTransport(pollTimeout: pollTimeout),
                time: workspace.time)
            try await workspace.withStores { tokens, store in
                let bot = TelegramBot(
                    api: api, chatIDs: chats, allowedUserIDs: settings.allowedUserIDs, config: workspace.config, store: tokens,
                    audit: workspace.auditLog(store: store), transport: workspace.transport, time: workspace.time,
                    offsetFile: UpdateOffsetFile(path: workspace.paths.dataDirectory + "/telegram-bot.json"),
                    options: TelegramBot.Options(pollTimeout: pollTimeout))
                let poller = try await RawTokenGate.claimPoller(workspace)
                defer { poller.release() }
                do {
                    try await BotRunner.run(bot)
                } catch let error as TelegramError where error.kind == .unauthorized {
                    throw ConfigError(file: nil, error.description)
                }
            }
        }
    }
}
