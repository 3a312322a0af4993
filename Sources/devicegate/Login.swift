import ArgumentParser
import DeviceGateKit

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "Sign a profile in with the device flow.",
        discussion: prose(
            """
            Shows a link and a short code (and a QR code) on stderr; the person opens the link on any
            device, signs in there with their password and MFA, and approves. devicegate polls the
            identity provider until then, stores the tokens encrypted and says who signed in.

            If the profile already holds a usable token (or a refresh token that still works), nothing
            new is started; --force starts a new sign-in anyway.

            Examples:
              devicegate login work
              devicegate login work --json |
                jq -r 'select(.event=="device_code") | .user_code'

            Exit codes: 0 signed in (or already) · 2 declined, expired or failed · 78 config error.
            """))

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The profile to sign in (default: the only or the default profile).", completion: ProfileCompletion.kind)
    var profile: String?

    @Flag(help: "Start a new sign-in even when already signed in.")
    var force = false

    @Flag(help: "Also write one JSON event per line on stdout (device_code, signed_in, failed, …).")
    var json = false

    @Option(
        name: .customLong("notify"),
        help: ArgumentHelp(
            "Where to send the code (repeatable): \(Notifiers.available.joined(separator: ", ")). Default: the profile's `notify`.",
            valueName: "name"))
    var notify: [String] = []

    @Flag(help: "Do not draw the QR code on the console.")
    var noQR = false

    func validate() throws {
        if let unknown = notify.first(where: { !Notifiers.available.contains($0) }) {
            throw ValidationError("unknown notifier \"\(unknown)\"; available: \(Notifiers.available.joined(separator: ", "))")
        }
    }

    func run() async throws {
        try await reportingErrors {
            let workspace = try global.workspace()
            let profile = try workspace.profile(profile)
            if profile.grant.isService {
                return try await workspace.withStores { tokens, local in
                    try await ServiceLogin.check(profile, workspace: workspace, store: tokens, local: local, json: json)
                }
            }
            try await workspace.withStores { tokens, store in try await signIn(profile, workspace: workspace, tokens: tokens, store: store)
            }
        }
    }

    private func signIn(_ profile: Profile, workspace: Workspace, tokens: any ProfileStore, store: TokenStore) async throws {
        do {
            var notifiers = try Notifiers.make(notify.isEmpty ? profile.notifiers : notify, showQR: !noQR, workspace: workspace)
            if json { notifiers.append(JSONLinesNotifier()) }
            let service = SignInService(
                profile: profile, store: tokens, transport: workspace.transport, time: workspace.time,
                notifiers: NotifierFanout(notifiers, auditingTo: workspace.auditLog(store: store), profile: profile.name),
                audit: workspace.auditLog(store: store), actor: AuditActor.localUser(command: "login"))
            let task = Task { try await service.run(force: force) }
            let signals = cancelOnSignals(task)
            defer { signals.forEach { $0.cancel() } }
            do {
                _ = try await task.value
            } catch let error as DeviceFlowError {
                throw error
            } catch let error where !(error is ConfigError || error is CancellationError || error is StoreError) {
                // Any other way a sign-in ends without tokens (provider unreachable, discovery
                // failed) is a failed sign-in: exit 2, as the seed's bridge script expects.
                StandardError.write("devicegate: \(error)")
                throw ExitCode(Exit.signInFailed)
            }
        }
    }
}
