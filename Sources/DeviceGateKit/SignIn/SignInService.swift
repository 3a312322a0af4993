#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A whole device sign-in for one profile: code → person → tokens → identity → store, with
/// every step announced to the notifiers.
public struct SignInService: Sendable {
    public let profile: Profile
    public let store: any ProfileStore
    public let transport: any HTTPTransport
    public let time: any TimeSource
    public let notifiers: NotifierFanout
    /// Where sign-ins, and refreshes made while checking for a usable token, are recorded;
    /// nil records nothing (tests, or no store key yet).
    public let audit: AuditLog?
    /// Who asked for the sign-in (``AuditActor``), written into each record.
    public let actor: [String: AuditValue]

    public init(
        profile: Profile, store: any ProfileStore, transport: any HTTPTransport, time: any TimeSource, notifiers: NotifierFanout,
        audit: AuditLog? = nil, actor: [String: AuditValue] = [:]
    ) {
        self.profile = profile
        self.store = store
        self.transport = transport
        self.time = time
        self.notifiers = notifiers
        self.audit = audit
        self.actor = actor
    }

    private func record(_ event: String, _ fields: [String: AuditValue] = [:]) async {
        await audit?.recordOrWarn(
            event, fields.merging(actor) { own, _ in own }.merging(["profile": .string(profile.name)]) { _, name in name })
    }

    public enum Outcome: Sendable {
        case signedIn(StoredProfile)
        case alreadySignedIn(StoredProfile)

        public var entry: StoredProfile {
            switch self {
            case .signedIn(let e), .alreadySignedIn(let e): e
            }
        }
    }

    /// - Parameter force: start a new sign-in even when a usable token (or a working refresh
    ///   token) is held.
    public func run(force: Bool = false) async throws -> Outcome {
        if !force, let entry = try await usableEntry() {
            await notifiers.send(.alreadySignedIn(profile: profile.name, identity: entry.identity, expiresAt: entry.tokens.expiresAt))
            return .alreadySignedIn(entry)
        }
        do {
            let entry = try await signIn()
            await record(
                "signed_in",
                ["name": .string(entry.identity?.displayName ?? "unknown"), "scopes": .string(entry.tokens.scopes.joined(separator: " "))])
            return .signedIn(entry)
        } catch is CancellationError {
            await record("sign_in_failed", ["reason": .string("cancelled")])
            await notifiers.send(.failed(profile: profile.name, message: "cancelled"))
            throw CancellationError()
        } catch let error as DeviceFlowError {
            await record("sign_in_failed", ["reason": .string(error.description)])
            switch error {
            case .declined(let message): await notifiers.send(.declined(profile: profile.name, message: message))
            case .expired: await notifiers.send(.expired(profile: profile.name))
            default: await notifiers.send(.failed(profile: profile.name, message: error.description))
            }
            throw error
        } catch {
            await record("sign_in_failed", ["reason": .string(String(describing: error))])
            await notifiers.send(.failed(profile: profile.name, message: String(describing: error)))
            throw error
        }
    }

    func usableEntry() async throws -> StoredProfile? {
        let broker = TokenBroker(
            profile: profile, store: store, transport: transport, time: time, onRefresh: { _ in await record("refresh") })
        do {
            return try await broker.validEntry()
        } catch is BrokerError {
            return nil
        }
    }

    func signIn() async throws -> StoredProfile {
        let provider = try await ProviderResolver(transport: transport).resolve(profile.provider)
        let flow = DeviceFlow(
            deviceAuthorizationEndpoint: try provider.deviceAuthorizationEndpoint(), tokenEndpoint: try provider.tokenEndpoint(),
            client: try await profile.oauthClient(), transport: transport, time: time)
        let code = try await flow.requestCode(scopes: profile.scopes, extra: profile.extraParameters)
        await notifiers.send(
            .codeIssued(
                .init(
                    profile: profile.name, provider: provider.displayName, scopes: profile.scopes, userCode: code.userCode,
                    verificationURI: code.verificationURI, verificationURIComplete: code.verificationURIComplete,
                    expiresAt: code.expiresAt, expiresIn: code.expiresIn, interval: code.interval, message: code.message)))
        let name = profile.name
        let fanout = notifiers
        let tokens = try await flow.waitForTokens(code, requestedScopes: profile.scopes) { progress in
            switch progress {
            case .pending: break
            case .slowedDown(let interval):
                await fanout.send(
                    .warning(profile: name, message: "the identity provider asked to poll more slowly; now every \(interval) s"))
            case .clockDrift(let percent):
                await fanout.send(
                    .warning(
                        profile: name,
                        message:
                            "slow_down came again although polling waited \(percent)% longer than asked: this machine's clock seems to drift (common in VMs and WSL)"
                    ))
            case .transientFailure(let reason, let retryIn):
                await fanout.send(.warning(profile: name, message: "\(reason); retrying in \(Int(retryIn.rounded())) s"))
            }
        }
        let (identity, _) = await IdentityResolver(transport: transport, time: time).resolve(
            tokens, provider: provider, clientID: profile.clientID)
        let entry = StoredProfile(
            profile: profile.name, issuer: profile.issuerIdentity, clientID: profile.clientID, tokens: tokens, identity: identity,
            updatedAt: time.now())
        _ = try await store.exclusively(profile.name) { try await store.save(entry, replacing: nil) }
        await notifiers.send(
            .signedIn(.init(profile: profile.name, identity: identity, scopes: tokens.scopes, expiresAt: tokens.expiresAt)))
        return entry
    }
}
