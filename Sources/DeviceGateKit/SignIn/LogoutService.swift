#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Signs a profile out: revoke at the provider where it can, then delete from the store.
public struct LogoutService: Sendable {
    public let profile: Profile
    public let store: any ProfileStore
    public let transport: any HTTPTransport
    public let time: any TimeSource
    /// Where the logout is recorded, with who asked for it (``AuditActor``); nil records nothing.
    public let audit: AuditLog?
    public let actor: [String: AuditValue]

    public init(
        profile: Profile, store: any ProfileStore, transport: any HTTPTransport, time: any TimeSource, audit: AuditLog? = nil,
        actor: [String: AuditValue] = [:]
    ) {
        self.profile = profile
        self.store = store
        self.transport = transport
        self.time = time
        self.audit = audit
        self.actor = actor
    }

    public struct Report: Sendable {
        public var profile: String
        public var hadTokens: Bool
        public var revocations: [RevocationOutcome]
        public var deleted: Bool
        /// Set when the provider could not even be asked.
        public var providerProblem: String?
        /// The access token was refreshed to be able to revoke it.
        public var refreshedToRevoke = false
    }

    /// - Parameter revoke: false deletes locally only (`--local`).
    public func run(revoke: Bool = true) async throws -> Report {
        let report = try await signOut(revoke: revoke)
        if report.hadTokens, let audit {
            var fields = actor
            fields["profile"] = .string(profile.name)
            fields["revoke"] = .bool(revoke)
            fields["deleted"] = .bool(report.deleted)
            fields["revoked"] = .string(report.revocations.filter(\.revoked).map(\.token).joined(separator: ", "))
            if report.refreshedToRevoke { fields["refreshed_to_revoke"] = .bool(true) }
            if let problem = report.providerProblem { fields["problem"] = .string(problem) }
            await audit.recordOrWarn("logout", fields)
        }
        return report
    }

    private func signOut(revoke: Bool) async throws -> Report {
        try await store.exclusively(profile.name) {
            guard let entry = try await store.load(profile.name) else {
                return Report(profile: profile.name, hadTokens: false, revocations: [], deleted: false)
            }
            var report = Report(profile: profile.name, hadTokens: true, revocations: [], deleted: false)
            if revoke, profile.grant == .managedIdentity {
                report.revocations = [
                    .notOffered(
                        "access token", "managed identity tokens cannot be revoked; the cached one was deleted and expires on its own")
                ]
            } else if revoke {
                do {
                    let provider = try await ProviderResolver(transport: transport).resolve(profile.provider)
                    let client = try await profile.oauthClient()
                    var tokens = entry.tokens
                    // Revocation may need a live access token (Glewlwyd's public clients); we hold
                    // the lock, so refresh here rather than through the broker.
                    if !tokens.isUsable(at: time.now(), minimumTTL: 30), tokens.refreshToken != nil,
                        let endpoint = provider.metadata.tokenEndpoint
                    {
                        if let fresh = try? await TokenEndpoint(url: endpoint, client: client, transport: transport, time: time)
                            .refresh(tokens, scopes: profile.scopes)
                        {
                            tokens = fresh
                            report.refreshedToRevoke = true
                        }
                    }
                    report.revocations = await Revoker(method: provider.revocation, client: client, transport: transport).revoke(tokens)
                } catch {
                    report.providerProblem = String(describing: error)
                }
            }
            report.deleted = try await store.delete(profile.name)
            return report
        }
    }
}
