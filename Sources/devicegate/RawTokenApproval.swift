import DeviceGateKit
import DeviceGateTelegram

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// `token_access` for `devicegate token` and `exec`: refused when frozen or denied, and with
/// `approve`, asked of the person in the Telegram chat before any token is loaded.
///
/// Telegram allows one `getUpdates` poller per bot, and the answer to the question comes back
/// through it. `serve` and `bot` hold `telegram-poller.lock` in the data directory while they
/// poll. When `serve` runs, this process asks it over its approval socket (`approvals.sock` in
/// the data directory, this user only), and `serve`'s own desk asks the person. When nothing
/// polls, this process polls the bot itself, only while it waits. When only `bot` runs, the
/// request is refused (exit 77) with that said.
enum RawTokenGate {
    /// - Parameters:
    ///   - tokens: where the profile's tokens and holds live (files, or the shared database).
    ///   - local: this machine's files store (its key signs the buttons; the audit log).
    static func admit(_ profile: Profile, workspace: Workspace, tokens: any ProfileStore, local: TokenStore, command: String) async throws {
        guard try await RawTokenAccess.check(profile, store: tokens, gateway: workspace.config.gateway) == .approve else { return }
        try await ask(profile, workspace: workspace, tokens: tokens, local: local, command: command)
    }

    static func pollerLockPath(_ workspace: Workspace) -> String { workspace.paths.dataDirectory + "/telegram-poller.lock" }

    /// Where a running `serve` takes raw-token questions.
    static func approvalSocketPath(_ workspace: Workspace) -> String { workspace.paths.dataDirectory + "/approvals.sock" }

    /// Holds the poller lock for the life of a process that polls the bot (`serve`, `bot`).
    static func claimPoller(_ workspace: Workspace) async throws -> FileLock {
        do {
            return try await FileLock.acquire(pollerLockPath(workspace), timeout: 0)
        } catch StoreError.lockTimeout {
            throw PollerBusy()
        }
    }

    struct PollerBusy: Error, CustomStringConvertible {
        var description: String {
            "another devicegate process (serve or bot) already polls the Telegram bot for this data directory; Telegram allows one poller per bot token, so stop that one first"
        }
    }

    private static func ask(_ profile: Profile, workspace: Workspace, tokens: any ProfileStore, local store: TokenStore, command: String)
        async throws
    {
        let settings = workspace.config.notifierSettings.telegram
        guard settings.hasBotToken else {
            throw RawTokenRefusal(
                "profile \(profile.name) has token_access = \"approve\", but no Telegram bot is configured to ask the person (TELEGRAM_BOT_TOKEN, [telegram])"
            )
        }
        let lock: FileLock
        do { lock = try await claimPoller(workspace) } catch is PollerBusy {
            if FileManager.default.fileExists(atPath: approvalSocketPath(workspace)) {
                return try await askServe(profile, workspace: workspace, command: command)
            }
            throw RawTokenRefusal(
                "profile \(profile.name) has token_access = \"approve\", and a running devicegate serve or bot polls the Telegram bot, so this process cannot receive the person's answer (one poller per bot). Call the API through the gateway, where approval works, or stop the poller"
            )
        }
        defer { lock.release() }
        let parts = try ServeBot.assemble(
            workspace: workspace, tokens: tokens, local: store, pollTimeout: 10, log: { _ in }, killSwitch: nil)
        let bot = parts.bot
        let polling = Task { try await bot.run() }
        defer { polling.cancel() }
        let desk = ApprovalDesk(
            approver: parts.approver, held: parts.held, audit: workspace.auditLog(store: store), time: workspace.time)
        let now = workspace.time.now()
        let timeout = profile.gateway?.approval.timeout ?? ApprovalPolicy.defaultTimeout
        let request = ApprovalRequest(
            profile: profile.name, agent: requester(command), rule: "token_access = \"approve\"",
            subject: .rawToken(requester: requester(command)), heldAt: now, expiresAt: now.addingTimeInterval(Double(timeout)))
        StandardError.write(
            "devicegate: asked the person in Telegram to approve a raw token for \(profile.name) (waiting up to \(timeout) s)")
        let verdict = await desk.hold(request)
        guard verdict.isApproved else {
            throw RawTokenRefusal("the raw token for \(profile.name) was not approved: \(verdict.error)")
        }
        await desk.conclude(request, verdict, result: "the raw token was handed out")
    }

    /// Asks the running `serve`, which holds the question on its own desk (the same message,
    /// buttons and audit records as a call it holds) and answers once the person decided.
    private static func askServe(_ profile: Profile, workspace: Workspace, command: String) async throws {
        let path = approvalSocketPath(workspace)
        guard let url = URL(string: "http+unix://\(PercentEncoding.encode(path))/raw-token")
        else { throw RawTokenRefusal("the approval socket's path \(path) cannot be addressed") }
        let timeout = profile.gateway?.approval.timeout ?? ApprovalPolicy.defaultTimeout
        let ask = JSONValue.object(["profile": .string(profile.name), "requester": .string(requester(command))]).encoded()
        StandardError.write(
            "devicegate: asked the person through the running devicegate serve to approve a raw token for \(profile.name) (waiting up to \(timeout) s)"
        )
        let response: IncomingResponse
        do {
            response = try await AsyncHTTPTransport(timeout: .seconds(Int64(timeout) + 30)).send(
                OutgoingRequest(
                    method: "POST", url: url, headers: [("Content-Type", "application/json")],
                    body: Secret(String(decoding: ask, as: UTF8.self))
                ))
        } catch {
            throw RawTokenRefusal("the running devicegate serve could not be asked for an approval (\(path)): \(error)")
        }
        let answer = JSONValue.parse(response.body)
        guard response.status == 200, answer?["approved"] == .bool(true) else {
            let why = answer?["error"]?.string ?? answer?["reason"]?.string ?? "status \(response.status)"
            throw RawTokenRefusal("the raw token for \(profile.name) was not approved: \(why)")
        }
    }

    /// "PID 1234 (alice) via devicegate token": who asks, as far as this process can tell.
    static func requester(_ command: String) -> String {
        let user = getpwuid(getuid()).flatMap { $0.pointee.pw_name.map { String(cString: $0) } } ?? "uid \(getuid())"
        return "PID \(getppid()) (\(user)) via devicegate \(command)"
    }
}
