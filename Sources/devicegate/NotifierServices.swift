import DeviceGateKit

/// A gateway's sign-in for the person: the device flow, with the code sent through the
/// profile's own notifiers (its chat, its webhook), recorded as the gateway's doing.
struct NotifierSignIn: SignInStarter {
    let workspace: Workspace
    let store: TokenStore
    /// Where the tokens go: `store`, or a database shared by replicas.
    let tokens: any ProfileStore

    init(workspace: Workspace, store: TokenStore, tokens: (any ProfileStore)? = nil) {
        self.workspace = workspace
        self.store = store
        self.tokens = tokens ?? store
    }

    func signIn(_ profile: Profile) async throws {
        let notifiers = try Notifiers.make(profile.notifiers, showQR: false, workspace: workspace)
        let audit = workspace.auditLog(store: store)
        _ = try await SignInService(
            profile: profile, store: tokens, transport: workspace.transport, time: workspace.time,
            notifiers: NotifierFanout(notifiers, auditingTo: audit, profile: profile.name),
            audit: audit, actor: AuditActor.gateway
        ).run()
    }
}

/// Alerts for the person through the profile's notifiers, as warnings; a notifier that cannot
/// be built is skipped (an alert never fails the call that raised it).
struct NotifierAlerter: PersonAlerter {
    let workspace: Workspace

    func alert(_ message: String, about profile: Profile) async {
        guard let notifiers = try? Notifiers.make(profile.notifiers, showQR: false, workspace: workspace) else { return }
        await NotifierFanout(notifiers).send(.warning(profile: profile.name, message: message))
    }
}
