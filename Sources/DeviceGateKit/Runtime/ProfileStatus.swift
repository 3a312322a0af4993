#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A profile's state as `devicegate status` reports it. Holds no secret.
public struct ProfileStatus: Sendable {
    public var profile: String
    public var provider: String
    public var grant: GrantKind
    public var signedIn: Bool
    public var identity: Identity?
    public var scopes: [String]
    public var expiresAt: Date?
    public var hasRefreshToken: Bool
    public var problem: String?
    /// Why the person froze the profile (`/freeze`); nil when it is not frozen.
    public var frozen: String?
    /// Why the breaker locked it; nil when it is not locked.
    public var locked: String?
    public var store: StorePosture

    public struct StorePosture: Sendable {
        /// `files` or `postgres`.
        public var backend: String
        public var encryption = "AES-256-GCM"
        public var keySource: String
        /// The file, or the database row, holding the entry.
        public var path: String
    }

    /// Reads the store without refreshing: `status` must not change anything.
    public static func read(_ profile: Profile, store: any ProfileStore, now: Date) async -> ProfileStatus {
        let loaded: Result<StoredProfile?, any Error>
        do { loaded = .success(try await store.load(profile.name)) } catch { loaded = .failure(error) }
        var status = status(profile, posture: store.posture, loaded: loaded, now: now)
        status.frozen = (try? await store.hold(.frozen, for: profile.name))?.reason
        status.locked = (try? await store.hold(.locked, for: profile.name))?.reason
        return status
    }

    /// The files store's status, read synchronously (callers that know they hold files).
    public static func read(_ profile: Profile, store: TokenStore, now: Date) -> ProfileStatus {
        let loaded: Result<StoredProfile?, any Error>
        do { loaded = .success(try store.load(profile.name)) } catch { loaded = .failure(error) }
        var status = status(profile, posture: store.posture, loaded: loaded, now: now)
        status.frozen = ProfileLock.read(profile.name, kind: .frozen, in: store.directory)?.reason
        status.locked = ProfileLock.read(profile.name, kind: .locked, in: store.directory)?.reason
        return status
    }

    static func status(_ profile: Profile, posture: DeviceGateKit.StorePosture, loaded: Result<StoredProfile?, any Error>, now: Date)
        -> ProfileStatus
    {
        var status = ProfileStatus(
            profile: profile.name, provider: profile.grant == .managedIdentity ? "azure-managed-identity" : profile.provider.kind.rawValue,
            grant: profile.grant, signedIn: false, identity: nil, scopes: [],
            expiresAt: nil, hasRefreshToken: false, problem: nil,
            store: StorePosture(backend: posture.backend, keySource: posture.keySource, path: posture.location(profile.name)))
        do {
            guard let entry = try loaded.get() else {
                if profile.grant.isService {
                    // Nobody signs in to a service identity: it is ready, the token comes on first use.
                    status.signedIn = true
                } else {
                    status.problem = "not signed in"
                }
                return status
            }
            status.identity = entry.identity
            status.scopes = entry.tokens.scopes
            status.expiresAt = entry.tokens.expiresAt
            status.hasRefreshToken = entry.tokens.refreshToken != nil
            if profile.grant.isService {
                status.signedIn = true
            } else if entry.issuer != profile.issuerIdentity || entry.clientID != profile.clientID {
                status.problem = "the stored tokens belong to another provider or client than the profile now names"
            } else if entry.tokens.isUsable(at: now, minimumTTL: 0) || status.hasRefreshToken {
                status.signedIn = true
            } else {
                status.problem = "the access token expired and no refresh token is held"
            }
        } catch {
            status.problem = String(describing: error)
        }
        return status
    }

    public var jsonObject: JSONValue {
        [
            "profile": .string(profile), "provider": .string(provider), "grant": .string(grant.rawValue), "signed_in": JSONValue(signedIn),
            "name": JSONValue(identity?.name), "email": JSONValue(identity?.email), "username": JSONValue(identity?.username),
            "scopes": JSONValue(scopes), "expires_at": JSONValue(expiresAt.map(JSONTime.string)),
            "has_refresh_token": JSONValue(hasRefreshToken), "problem": JSONValue(problem), "frozen": JSONValue(frozen),
            "locked": JSONValue(locked),
            "store": [
                "backend": .string(store.backend), "encryption": .string(store.encryption), "key": .string(store.keySource),
                "path": .string(store.path),
            ],
        ]
    }
}
