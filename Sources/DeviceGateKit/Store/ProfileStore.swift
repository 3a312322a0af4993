#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Where tokens and a profile's holds (breaker lock, freeze) live: files on this machine
/// (``TokenStore``, the default) or a database shared by several gateways (the
/// `DeviceGatePostgres` target).
///
/// Everything that reads or writes tokens goes through this protocol, so one machine keeps its
/// embedded files and a team's replicas can share one set of tokens without any caller knowing
/// which. Tokens are always sealed client-side (``TokenSeal``): a driver stores the sealed bytes
/// and never sees a plaintext token.
public protocol ProfileStore: Sendable {
    /// How `status` and `doctor` describe the store: the backend, where it is, and the key.
    var posture: StorePosture { get }

    /// The stored entry with its ``StoredProfile/revision``, or nil if the profile has none.
    /// Throws for anything damaged, foreign, sealed with another key or for another profile.
    func load(_ profile: String) async throws -> StoredProfile?

    /// Writes `entry` if the stored revision is still `expected` (nil: whatever is stored), and
    /// returns the new revision. A mismatch throws ``StoreConflict``: someone else wrote in
    /// between, and overwriting would lose their tokens.
    @discardableResult
    func save(_ entry: StoredProfile, replacing expected: StoreRevision?) async throws -> StoreRevision

    /// Deletes the profile's entry. Returns whether there was one.
    @discardableResult
    func delete(_ profile: String) async throws -> Bool

    /// Runs `body` while no other process (on this machine, or on any replica sharing the
    /// store) runs `exclusively` for the same profile. A refresh runs inside it: re-read,
    /// refresh only if still stale, write. The lock is released if the holder dies, never by a
    /// timer, so a slow refresh is not overtaken by a second one.
    func exclusively<T: Sendable>(_ profile: String, _ body: () async throws -> T) async throws -> T

    /// The profile's hold of `kind`, or nil. A hold that cannot be read safely still holds.
    func hold(_ kind: ProfileHoldKind, for profile: String) async throws -> ProfileLock?

    /// Places a hold; every process sharing the store sees it (within a second, see ``LockCache``).
    func place(_ kind: ProfileHoldKind, _ lock: ProfileLock) async throws

    /// Lifts a hold. Returns whether there was one.
    @discardableResult
    func lift(_ kind: ProfileHoldKind, for profile: String) async throws -> Bool

    /// Counts one call against the profile's rate limits across every process sharing the
    /// store, or returns nil when the store is this machine's alone (files: the process counts
    /// in memory, on its own sliding windows).
    func admitCall(_ profile: String, perMinute: Int?, perHour: Int?) async throws -> SharedRateVerdict?

    /// Whether ``admitCall(_:perMinute:perHour:)`` counts (a store shared by replicas), so the
    /// gateway's synchronous admission knows it must ask rather than count in memory.
    var sharesRateLimits: Bool { get }

    /// Calls `changed` with a profile's name whenever a process changes its entry, and with nil
    /// when anything may have changed unseen (after a reconnection), until the task is
    /// cancelled, so a long-lived process can drop its in-memory copies. Returns at once when
    /// the store cannot tell (files: the broker then re-reads on expiry or after a 401).
    func watch(_ changed: @escaping @Sendable (String?) async -> Void) async throws

    /// What `doctor` reports about the store beyond its key (a database's connection and
    /// schema); files have nothing more to say.
    func checks() async -> [Doctor.Check]

    /// Stops what the store runs (a database's connections). Called once, when the command or
    /// the gateway is done with it.
    func shutdown() async
}

/// Opens the store `[store]` names. The Kit knows only files; the executable passes one that
/// also knows the drivers that live outside the Kit (PostgreSQL), which never import it back.
public typealias StoreOpener = @Sendable (StoreSettings, TokenStore) async throws -> any ProfileStore

/// The files-only opener: `[store] backend = "files"`, the default.
public let filesOnlyStoreOpener: StoreOpener = { settings, local in
    guard settings.backend == .files else {
        throw ConfigError(file: nil, "store.backend = \"\(settings.backend.rawValue)\" is not available in this program")
    }
    return local
}

/// A shared store's answer to ``ProfileStore/admitCall(_:perMinute:perHour:)``.
public enum SharedRateVerdict: Sendable, Equatable {
    case admitted
    /// Refused; a slot frees in this many seconds.
    case wait(seconds: Double)
}

extension ProfileStore {
    /// Not shared: the caller counts in memory.
    public func admitCall(_ profile: String, perMinute: Int?, perHour: Int?) async throws -> SharedRateVerdict? { nil }
    public var sharesRateLimits: Bool { false }
}

/// Which hold on a profile: the breaker's lock (`devicegate unlock` lifts it) or a freeze.
public enum ProfileHoldKind: String, Sendable, CaseIterable {
    case locked
    case frozen
}

/// A stored entry's version, as its store counts them: compared, never interpreted.
public struct StoreRevision: Sendable, Hashable, CustomStringConvertible {
    public let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { value }
}

/// A compare-and-swap save found another revision than the one it read.
public struct StoreConflict: Error, Sendable, CustomStringConvertible {
    public let profile: String
    public init(profile: String) { self.profile = profile }
    public var description: String {
        "the stored tokens for \(profile) changed while they were being replaced (another devicegate wrote them); nothing was overwritten"
    }
}

/// The store could not be reached (a database down or restarting). Passes: the gateway answers
/// 503 with this reason, and the next call tries again.
public struct StoreUnavailable: Error, Sendable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "the token store is unavailable: \(reason)" }
}

/// What `status` and `doctor` say about a store. Holds no secret: a database URL's password
/// never reaches it.
public struct StorePosture: Sendable {
    /// `files` or `postgres`.
    public var backend: String
    public var encryption = "AES-256-GCM"
    public var keySource: String
    /// Where a profile's entry is kept: a file path, or a database row.
    public var location: @Sendable (String) -> String

    public init(backend: String, keySource: String, location: @escaping @Sendable (String) -> String) {
        self.backend = backend
        self.keySource = keySource
        self.location = location
    }
}
