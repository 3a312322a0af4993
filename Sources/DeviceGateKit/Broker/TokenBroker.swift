import NIOConcurrencyHelpers

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

/// The one place that decides between the cached token, a refresh, and "sign in again".
///
/// Refresh tokens rotate at most providers: the first refresh kills the old refresh token, so a
/// second, racing refresh with the same token fails and, at some providers, revokes the whole
/// grant. The broker therefore refreshes exactly once at a time per profile: callers in this
/// process share one in-flight refresh, and processes (on this machine, or every replica sharing
/// a database) serialise on ``ProfileStore/exclusively(_:_:)``, then re-read the store and
/// refresh only if the token is still stale.
public actor TokenBroker {
    public nonisolated let profile: Profile
    let store: any ProfileStore
    let transport: any HTTPTransport
    let time: any TimeSource
    /// Awaited after each refresh or acquisition is stored, before the new token is handed
    /// out, so the record is written even when the process exits right after.
    let onRefresh: @Sendable (String) async -> Void
    private var inflight: Task<StoredProfile, any Error>?
    /// The last entry handed out, behind a lock so that ``cachedEntry()`` can read it without
    /// a hop onto the actor (the gateway's event loops admit calls synchronously).
    private nonisolated let memory = NIOLockedValueBox<StoredProfile?>(nil)
    private var cached: StoredProfile? {
        get { memory.withLockedValue { $0 } }
        set { memory.withLockedValue { $0 = newValue } }
    }

    public init(
        profile: Profile, store: any ProfileStore, transport: any HTTPTransport, time: any TimeSource,
        onRefresh: @escaping @Sendable (String) async -> Void = { _ in }
    ) {
        self.profile = profile
        self.store = store
        self.transport = transport
        self.time = time
        self.onRefresh = onRefresh
    }

    /// A stored entry whose access token has at least `minimumTTL` seconds left (default: the
    /// profile's `min_ttl`), refreshed if needed. A long-lived broker (the gateway's) answers
    /// from memory until the token nears expiry, so the request path does not touch disk.
    public func validEntry(minimumTTL: Int? = nil) async throws -> StoredProfile {
        let ttl = Double(minimumTTL ?? profile.minimumTTL)
        if let cached, cached.tokens.isUsable(at: time.now(), minimumTTL: ttl) { return cached }
        return try await singleFlight { try await self.refreshIfStale(minimumTTL: ttl) }
    }

    /// The entry ``validEntry(minimumTTL:)`` would answer from memory, or nil when it would have
    /// to read the store or refresh: the synchronous fast path of the gateway's admission.
    public nonisolated func cachedEntry() -> StoredProfile? {
        guard let entry = memory.withLockedValue({ $0 }),
            entry.tokens.isUsable(at: time.now(), minimumTTL: Double(profile.minimumTTL))
        else { return nil }
        return entry
    }

    /// The upstream answered 401 to `token`: refresh once, unless that token was already
    /// replaced (by a concurrent caller or another process), in which case the newer one is used.
    public func entryAfterRejection(of token: Secret) async throws -> StoredProfile {
        if let cached, cached.tokens.accessToken != token { return cached }
        cached = nil
        return try await singleFlight { try await self.renewRejected(token) }
    }

    private func singleFlight(_ work: @escaping @Sendable () async throws -> StoredProfile) async throws -> StoredProfile {
        if let inflight { return try await inflight.value }
        let task = Task { try await work() }
        inflight = task
        defer { inflight = nil }
        let entry = try await task.value
        cached = entry
        return entry
    }

    /// Drops the in-memory copy (after a logout, a breaker trip, or another replica's write).
    public func forget() { cached = nil }

    nonisolated func renewRejected(_ token: Secret) async throws -> StoredProfile {
        try await store.exclusively(profile.name) {
            let stored = try await store.load(profile.name)
            if let stored, stored.tokens.accessToken != token, stored.tokens.isUsable(at: time.now(), minimumTTL: 0) { return stored }
            if profile.grant.isService { return try await acquire() }
            guard let entry = stored, entry.tokens.refreshToken != nil else {
                throw BrokerError.signInRequired(profile: profile.name, reason: "the API rejected the token and no refresh token is held")
            }
            _ = try belongs(entry)
            return try await refresh(entry)
        }
    }

    public func accessToken(minimumTTL: Int? = nil) async throws -> Secret {
        try await validEntry(minimumTTL: minimumTTL).tokens.accessToken
    }

    nonisolated func refreshIfStale(minimumTTL ttl: Double) async throws -> StoredProfile {
        // Fast path, no lock: files are replaced atomically and rows in one statement, so a
        // read sees a whole entry.
        if let entry = try await store.load(profile.name), try belongs(entry), entry.tokens.isUsable(at: time.now(), minimumTTL: ttl) {
            return entry
        }
        return try await store.exclusively(profile.name) {
            let stored = try await store.load(profile.name)
            if profile.grant.isService {
                // Service identities have no refresh token: ask again, replacing whatever is there.
                if let stored, stored.issuer == profile.issuerIdentity, stored.tokens.isUsable(at: time.now(), minimumTTL: ttl) {
                    return stored
                }
                return try await acquire()
            }
            guard let entry = stored else {
                throw BrokerError.signInRequired(profile: profile.name, reason: "not signed in")
            }
            _ = try belongs(entry)
            // Another process may have refreshed while we waited for the lock.
            if entry.tokens.isUsable(at: time.now(), minimumTTL: ttl) { return entry }
            guard entry.tokens.refreshToken != nil else {
                throw BrokerError.signInRequired(
                    profile: profile.name,
                    reason: "the access token " + (entry.tokens.isUsable(at: time.now(), minimumTTL: 0) ? "is about to expire" : "expired")
                        + " and no refresh token is held")
            }
            return try await refresh(entry)
        }
    }

    /// A new token for a service identity. Must be called holding the profile's lock.
    nonisolated func acquire() async throws -> StoredProfile {
        let tokens: TokenSet
        do {
            switch profile.grant {
            case .managedIdentity:
                guard let settings = profile.managedIdentity else {
                    throw ConfigError(file: nil, "profiles.\(profile.name): a managed identity needs `resource`")
                }
                tokens = try await ManagedIdentitySource(settings: settings, transport: transport, time: time).acquire()
            case .clientCredentials, .deviceCode:
                let provider = try await ProviderResolver(transport: transport).resolve(profile.provider)
                let endpoint = TokenEndpoint(
                    url: try provider.tokenEndpoint(), client: try await profile.oauthClient(), transport: transport, time: time)
                tokens = try await endpoint.clientCredentials(scopes: profile.scopes, extra: profile.extraParameters)
            }
        } catch let error as ConfigError {
            throw error
        } catch {
            throw BrokerError.acquisitionFailed(profile: profile.name, reason: String(describing: error))
        }
        let entry = StoredProfile(
            profile: profile.name, issuer: profile.issuerIdentity, clientID: profile.clientID, tokens: tokens,
            identity: Identity(
                subject: profile.grant == .managedIdentity ? nil : profile.clientID,
                name: profile.grant == .managedIdentity ? "Azure managed identity" : "client \(profile.clientID)",
                source: profile.grant.rawValue),
            updatedAt: time.now())
        try await keep(entry, replacing: nil)
        await onRefresh(profile.name)
        return entry
    }

    /// Must be called holding the profile's lock.
    nonisolated func refresh(_ entry: StoredProfile) async throws -> StoredProfile {
        let provider: Provider
        let client: OAuthClient
        do {
            provider = try await ProviderResolver(transport: transport).resolve(profile.provider)
            client = try await profile.oauthClient()
        } catch let error as ConfigError {
            throw error
        } catch {
            throw BrokerError.refreshFailed(profile: profile.name, reason: String(describing: error))
        }
        let endpoint = TokenEndpoint(url: try provider.tokenEndpoint(), client: client, transport: transport, time: time)
        do {
            var updated = entry
            updated.tokens = try await endpoint.refresh(entry.tokens, scopes: profile.scopes)
            updated.updatedAt = time.now()
            updated.revision = nil
            try await keep(updated, replacing: entry.revision)
            await onRefresh(profile.name)
            return updated
        } catch RefreshFailure.refused(let error) {
            // Keep the entry (identity, scopes) but drop the dead refresh token, so `status`
            // tells the truth and nothing retries it.
            var dead = entry
            dead.tokens.refreshToken = nil
            dead.updatedAt = time.now()
            do { try await store.save(dead, replacing: entry.revision) } catch is StoreConflict {}
            throw BrokerError.signInRequired(profile: profile.name, reason: "the identity provider refused the refresh token (\(error))")
        } catch RefreshFailure.unavailable(let why) {
            throw BrokerError.refreshFailed(profile: profile.name, reason: why)
        }
    }

    /// Stores tokens the provider just issued. With rotating refresh tokens the old refresh token
    /// is already dead, so a store that is briefly unreachable (a database restarting) is
    /// retried for about half a minute rather than losing the grant. A conflict means another
    /// writer stored newer tokens (a sign-in): those win, and this call still uses its own.
    nonisolated func keep(_ entry: StoredProfile, replacing expected: StoreRevision?) async throws {
        var failures = 0
        while true {
            do {
                try await store.save(entry, replacing: expected)
                return
            } catch is StoreConflict {
                return
            } catch let error as StoreUnavailable {
                failures += 1
                guard failures < 8 else {
                    throw BrokerError.refreshFailed(
                        profile: profile.name, reason: "the new tokens could not be stored (\(error)); sign in again if this persists")
                }
                try await time.sleep(seconds: min(8, 0.25 * pow(2, Double(failures - 1))))
            }
        }
    }

    nonisolated func belongs(_ entry: StoredProfile) throws -> Bool {
        guard entry.issuer == profile.issuerIdentity, entry.clientID == profile.clientID else {
            throw BrokerError.signInRequired(
                profile: profile.name, reason: "the stored tokens were issued to another provider or client than the profile now names")
        }
        return true
    }
}
