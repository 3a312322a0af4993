import DeviceGateKit
import ServiceLifecycle

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// `devicegate bot`: drives sign-ins from a Telegram chat, for a person who has no shell.
///
/// Long-polls `getUpdates` and acts only on messages from the configured chats (and, when a
/// list is set, only from the listed people); everything else is ignored and logged. Commands:
/// `/auth`, `/status`, `/logout`, `/profiles`, `/help`, `/start`, also as `/cmd@botname` in
/// groups. One sign-in per profile at a time. The update offset is kept on disk, outages are
/// waited out with backoff, and a graceful shutdown (SIGTERM, SIGINT) ends running sign-ins so
/// their code messages are edited rather than left stale.
///
/// Nothing here can send a token: the chat only ever sees ``SignInEvent``s and
/// ``ProfileStatus``es, which hold no ``Secret``.
public actor TelegramBot: Service {
    public struct Options: Sendable {
        /// Seconds a `getUpdates` call waits for a message; Telegram suggests 25–50.
        public var pollTimeout: Int
        /// Where non-chat output goes: what was ignored, outages, conflicts.
        public var log: @Sendable (String) -> Void

        public init(pollTimeout: Int = 25, log: @escaping @Sendable (String) -> Void = StandardError.write) {
            self.pollTimeout = pollTimeout
            self.log = log
        }
    }

    private let api: BotAPI
    private let chats: Set<Int64>
    private let allowedUsers: Set<Int64>
    let config: DeviceGateConfig
    private let store: any ProfileStore
    private let audit: AuditLog?
    private let transport: any HTTPTransport
    private let time: any TimeSource
    private let offsetFile: UpdateOffsetFile
    private let options: Options
    private let approver: TelegramApprover?
    let killSwitch: KillSwitch

    private var botID: Int64 = 0
    private var username: String?
    private var offset: Int?
    private var signIns: [String: (task: Task<Void, Never>, notifier: TelegramNotifier)] = [:]
    private var offsetWriteFailed = false

    /// - Parameters:
    ///   - audit: where sign-ins and logouts are recorded, with the chat and the person.
    ///   - transport: for the identity providers (the Bot API has its own in `api`).
    ///   - offsetFile: usually `DATA_DIR/telegram-bot.json`.
    ///   - approver: handles button presses on approval messages; one poller reads both, since
    ///     Telegram allows one `getUpdates` per bot. Without it, presses are answered and ignored.
    public init(
        api: BotAPI, chatIDs: [Int64], allowedUserIDs: [Int64] = [], config: DeviceGateConfig, store: any ProfileStore,
        audit: AuditLog? = nil, transport: any HTTPTransport, time: any TimeSource, offsetFile: UpdateOffsetFile,
        options: Options = Options(), approver: TelegramApprover? = nil, killSwitch: KillSwitch? = nil
    ) {
        self.approver = approver
        self.killSwitch =
            killSwitch
            ?? KillSwitch(
                store: store, locks: LockCache(store: store, time: time), windows: nil, transport: transport, time: time,
                audit: audit)
        self.api = api
        self.chats = Set(chatIDs)
        self.allowedUsers = Set(allowedUserIDs)
        self.config = config
        self.store = store
        self.audit = audit
        self.transport = transport
        self.time = time
        self.offsetFile = offsetFile
        self.options = options
    }

    /// Runs until cancelled or shut down gracefully; throws only when it cannot go on (the
    /// token was refused).
    public func run() async throws {
        let me = try await identify()
        botID = me.id
        username = me.username
        offset = try offsetFile.load(botID: me.id)
        options.log(
            "devicegate bot: @\(me.username ?? "?") is listening to chat \(chats.sorted().map(String.init).joined(separator: ", "))"
                + (allowedUsers.isEmpty ? "" : " (people \(allowedUsers.sorted().map(String.init).joined(separator: ", ")) only)"))
        do {
            try await cancelWhenGracefulShutdown { try await self.poll() }
        } catch is CancellationError {
            // Stopping is the normal way out.
        } catch {
            await stopSignIns()
            throw error
        }
        await stopSignIns()
        options.log("devicegate bot: stopped")
    }

    // MARK: Polling

    /// `getMe`, waiting out outages: the bot must come up even while Telegram is away.
    private func identify() async throws -> TelegramUser {
        var failures = 0
        while true {
            do {
                return try await api.getMe()
            } catch let error as TelegramError where error.isTransient {
                failures += 1
                let wait = Self.backoff(failures)
                options.log("devicegate bot: \(error); trying again in \(Int(wait)) s")
                try await time.sleep(seconds: wait)
            }
        }
    }

    private func poll() async throws {
        var failures = 0
        var inConflict = false
        var unconfirmable = 0
        while !Task.isCancelled {
            let batch: UpdateBatch
            do {
                batch = try await api.getUpdates(offset: offset, timeout: options.pollTimeout)
            } catch let error as TelegramError {
                switch error.kind {
                case .unauthorized:
                    throw error
                case .rateLimited(let seconds):
                    // Capped as any Retry-After is: a retry_after of 10^15 must not stop the bot for good.
                    try await time.sleep(seconds: min(Double(max(1, seconds)), Quirks.longestRetryAfter))
                case .conflict:
                    failures += 1
                    if !inConflict { options.log("devicegate bot: \(error)") }
                    inConflict = true
                    try await time.sleep(seconds: Self.backoff(failures, first: 5))
                case .network, .serverError, .rejected:
                    failures += 1
                    let wait = Self.backoff(failures)
                    if failures == 1 || failures % 10 == 0 { options.log("devicegate bot: \(error); trying again in \(Int(wait)) s") }
                    try await time.sleep(seconds: wait)
                }
                continue
            }
            if inConflict { options.log("devicegate bot: the other poller is gone; reading updates again") }
            if failures > 0 && !inConflict { options.log("devicegate bot: Telegram answers again") }
            failures = 0
            inConflict = false
            for skipped in batch.skipped {
                if let offset, let id = skipped.updateID, id < offset { continue }
                options.log(
                    "devicegate bot: skipped \(skipped.updateID.map { "update \($0)" } ?? "an update without a readable id"): \(skipped.reason)"
                )
            }
            for update in batch.updates.sorted(by: { $0.updateID < $1.updateID }) {
                if let offset, update.updateID < offset { continue }
                await handle(update)
                offset = update.updateID + 1
                saveOffset()
            }
            // Past the skipped ones too, or Telegram would send them again and again.
            if let highest = batch.highestID {
                unconfirmable = 0
                if highest >= offset ?? Int.min {
                    offset = highest + 1
                    saveOffset()
                }
            } else if !batch.skipped.isEmpty {
                // Nothing to confirm them with: asking again at once would spin on the same batch.
                unconfirmable += 1
                let wait = Self.backoff(unconfirmable)
                if unconfirmable == 1 || unconfirmable % 10 == 0 {
                    options.log(
                        "devicegate bot: Telegram sent \(batch.skipped.count) update(s) without a readable update_id, which cannot be confirmed; asking again in \(Int(wait)) s"
                    )
                }
                try await time.sleep(seconds: wait)
            }
        }
    }

    private func saveOffset() {
        guard let offset else { return }
        do {
            try offsetFile.save(botID: botID, offset: offset)
            offsetWriteFailed = false
        } catch {
            if !offsetWriteFailed {
                options.log("devicegate bot: cannot save the update offset to \(offsetFile.path): \(error); a restart may repeat commands")
            }
            offsetWriteFailed = true
        }
    }

    /// 1, 2, 4 … 60 seconds.
    static func backoff(_ failures: Int, first: Double = 1) -> Double {
        min(60, first * pow(2, Double(max(0, failures - 1))))
    }

    // MARK: Messages

    private func handle(_ update: TelegramUpdate) async {
        if let query = update.callbackQuery {
            if let approver {
                await approver.handle(query)
            } else {
                do { try await api.answerCallbackQuery(id: query.id, text: "Nothing to decide here.") } catch {
                    options.log("devicegate bot: could not answer a button press: \(error)")
                }
            }
            return
        }
        guard let message = update.message else { return }
        let chat = message.chat.id
        let sender = message.from.map { "user \($0.id)" + ($0.username.map { " @\($0)" } ?? "") } ?? "an unknown sender"
        guard chats.contains(chat) else {
            options.log("devicegate bot: ignored update \(update.updateID) from chat \(chat) (\(sender)): not an allowed chat")
            return
        }
        if !allowedUsers.isEmpty {
            guard let user = message.from?.id, allowedUsers.contains(user) else {
                options.log("devicegate bot: ignored update \(update.updateID) in chat \(chat) from \(sender): not an allowed person")
                return
            }
        }
        if message.from?.isBot == true { return }
        guard let text = message.text, let command = BotCommand.parse(text, botUsername: username) else { return }
        options.log("devicegate bot: chat \(chat): /\(command.name)")
        await execute(command, chat: chat, from: message.from)
    }

    private func execute(_ command: BotCommand, chat: Int64, from sender: TelegramUser?) async {
        let user = sender?.id
        let argument = command.arguments.first
        switch command.name {
        case "start", "help":
            await reply(chat, Self.helpText)
        case "auth", "login":
            await startSignIn(argument, chat: chat, from: user)
        case "status":
            await reply(chat, await status(argument))
        case "profiles":
            await reply(chat, await profiles())
        case "logout":
            await reply(chat, await logout(argument, chat: chat, from: user))
        case "freeze":
            await reply(chat, await freeze(argument, chat: chat, from: sender))
        case "unfreeze":
            await reply(chat, await unfreeze(argument, chat: chat, from: sender))
        case "kill":
            await reply(chat, await kill(argument, chat: chat, from: sender))
        case "token", "tokens", "access_token", "refresh_token":
            await reply(
                chat,
                "I never send tokens into a chat, whatever is asked. On the agent's machine, <code>devicegate token PROFILE</code> prints one."
            )
        default:
            await reply(chat, "Unknown command /\(TelegramHTML.escape(command.name)). Send /help for the list.")
        }
    }

    private func reply(_ chat: Int64, _ html: String) async {
        do {
            _ = try await api.sendMessage(chatID: chat, html: html)
        } catch {
            options.log("devicegate bot: could not answer chat \(chat): \(error)")
        }
    }

    static let helpText = """
        I sign this agent in to your accounts. You approve each sign-in on your own phone or laptop; your password never reaches the agent.

        /auth [profile] — sign in: I send a link and a code
        /status [profile] — who is signed in, and until when
        /logout [profile] — revoke the tokens and delete them
        /freeze [profile] — stop every call and token at once (all profiles without a name)
        /unfreeze [profile] — lift a freeze
        /kill profile — revoke, delete the tokens and freeze
        /profiles — the configured profiles
        /help — this text

        I never send tokens into a chat.
        """

    private func profile(_ name: String?) throws -> Profile { try config.profile(named: name) }

    static func explain(_ error: any Error) -> String {
        TelegramHTML.escape((error as? ConfigError)?.message ?? String(describing: error))
    }

    // MARK: /auth

    private func startSignIn(_ name: String?, chat: Int64, from user: Int64?) async {
        let profile: Profile
        do { profile = try self.profile(name) } catch {
            await reply(chat, "Auth failed: \(Self.explain(error))")
            return
        }
        if profile.grant.isService {
            await reply(
                chat,
                "Profile \(TelegramHTML.bold(profile.name)) uses \(TelegramHTML.escape(profile.grant.rawValue)): it gets its tokens without a person, so there is nothing to sign in to."
            )
            return
        }
        guard await !signInRunning(profile.name) else {
            await reply(
                chat,
                "A sign-in for \(TelegramHTML.bold(profile.name)) is already in progress: use the code I sent, or wait until it ends.")
            return
        }
        let notifier = TelegramNotifier(api: api, chatIDs: [chat], time: time)
        let log = options.log
        let service = SignInService(
            profile: profile, store: store, transport: transport, time: time,
            notifiers: NotifierFanout([notifier, BotLogNotifier(log: log)], reportFailure: log), audit: audit,
            actor: AuditActor.telegram(chat: chat, user: user))
        let api = self.api
        let task = Task {
            do {
                _ = try await service.run()
            } catch {
                // Errors before any event (a damaged store) still get an answer in the chat.
                if !(await notifier.toldEnding) {
                    _ = try? await api.sendMessage(chatID: chat, html: "Auth failed: \(Self.explain(error))")
                }
            }
            self.signInEnded(profile.name)
        }
        signIns[profile.name] = (task, notifier)
    }

    private func signInEnded(_ profile: String) { signIns[profile] = nil }

    /// Whether a sign-in for `profile` is under way. One that has already told its ending is
    /// only wrapping up: it is waited for, so a person who answers the confirmation at once
    /// (`/logout`, `/auth`) is not told to wait.
    private func signInRunning(_ profile: String) async -> Bool {
        guard let running = signIns[profile] else { return false }
        guard await running.notifier.toldEnding else { return true }
        await running.task.value
        return signIns[profile] != nil
    }

    /// Cancels running sign-ins and waits for them: each edits its code message on the way out.
    private func stopSignIns() async {
        let running = signIns.values.map(\.task)
        running.forEach { $0.cancel() }
        for task in running { await task.value }
    }

    // MARK: /status, /profiles, /logout

    private func status(_ name: String?) async -> String {
        let profiles: [Profile]
        do {
            profiles = try name.map { [try profile($0)] } ?? config.profiles.values.sorted { $0.name < $1.name }
        } catch {
            return Self.explain(error)
        }
        if profiles.isEmpty { return Self.noProfiles }
        let now = time.now()
        var texts: [String] = []
        for profile in profiles { texts.append(Self.statusText(await ProfileStatus.read(profile, store: store, now: now), now: now)) }
        return texts.joined(separator: "\n\n")
    }

    static func statusText(_ s: ProfileStatus, now: Date) -> String {
        let h = TelegramHTML.self
        var text = "\(h.bold(s.profile)) (\(h.escape(s.provider))): "
        if s.signedIn {
            text += "✅ signed in" + (s.identity.map { " as \(h.escape($0.displayName))" } ?? "")
            var details: [String] = []
            if let expiry = s.expiresAt {
                let left = Int(expiry.timeIntervalSince(now))
                details.append(left > 0 ? "token valid for \(duration(left))" : "token expired \(duration(-left)) ago")
            }
            details.append(s.hasRefreshToken ? "refresh token held" : "no refresh token")
            text += "\n" + details.joined(separator: " · ")
        } else {
            text += "❌ " + h.escape(s.problem ?? "not signed in") + " — send /auth \(h.escape(s.profile))"
        }
        if let frozen = s.frozen { text += "\n🧊 " + h.escape(frozen) + " — /unfreeze \(h.escape(s.profile)) lifts it" }
        if let locked = s.locked { text += "\n🔒 " + h.escape(locked) }
        return text
    }

    static func duration(_ seconds: Int) -> String {
        if seconds >= 3600 { return "\(seconds / 3600) h \(seconds % 3600 / 60) min" }
        if seconds >= 60 { return "\(seconds / 60) min" }
        return "\(seconds) s"
    }

    static let noProfiles = "No profiles are configured yet: add a <code>[profiles.NAME]</code> table to devicegate's config.toml."

    private func profiles() async -> String {
        let all = config.profiles.values.sorted { $0.name < $1.name }
        if all.isEmpty { return Self.noProfiles }
        let defaultName = (try? config.profile(named: nil))?.name
        let now = time.now()
        var lines: [String] = []
        for profile in all {
            let status = await ProfileStatus.read(profile, store: store, now: now)
            lines.append(
                "• \(TelegramHTML.bold(profile.name)) — \(TelegramHTML.escape(status.provider)), "
                    + (status.signedIn
                        ? "signed in" + (status.identity.map { " as \(TelegramHTML.escape($0.displayName))" } ?? "") : "not signed in")
                    + (profile.name == defaultName && all.count > 1 ? " (default)" : ""))
        }
        return "Profiles:\n" + lines.joined(separator: "\n")
    }

    private func logout(_ name: String?, chat: Int64, from user: Int64?) async -> String {
        let profile: Profile
        do { profile = try self.profile(name) } catch { return Self.explain(error) }
        let bold = TelegramHTML.bold(profile.name)
        if await signInRunning(profile.name) { return "A sign-in for \(bold) is in progress; wait until it ends." }
        do {
            let report = try await LogoutService(
                profile: profile, store: store, transport: transport, time: time, audit: audit,
                actor: AuditActor.telegram(chat: chat, user: user)
            ).run()
            guard report.hadTokens else { return "Nothing was stored for \(bold): already signed out." }
            var lines = ["Signed out of \(bold): the stored tokens are deleted."]
            for outcome in report.revocations {
                lines.append("\(outcome.revoked ? "✓" : "✗") \(TelegramHTML.escape(outcome.token)): \(TelegramHTML.escape(outcome.detail))")
            }
            if let problem = report.providerProblem { lines.append("✗ could not revoke at the provider: \(TelegramHTML.escape(problem))") }
            return lines.joined(separator: "\n")
        } catch {
            return "Logout of \(bold) failed: \(Self.explain(error))"
        }
    }
}

/// One line per sign-in ending on the bot's stderr, for `docker logs` and journald.
struct BotLogNotifier: SignInNotifier {
    let name = "log"
    let log: @Sendable (String) -> Void

    func notify(_ event: SignInEvent) async throws {
        let text: String? =
            switch event {
            case .codeIssued(let code): "code issued for \(code.provider)"
            case .signedIn(let s): "signed in as \(s.identity?.displayName ?? "an unknown user")"
            case .alreadySignedIn: "already signed in"
            case .declined: "declined"
            case .expired: "the code expired"
            case .failed(_, let message): "failed: \(message)"
            case .warning(_, let message): message
            }
        if let text { log("devicegate bot: \(event.profile): \(text)") }
    }
}
