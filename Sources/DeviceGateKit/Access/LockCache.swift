import NIOConcurrencyHelpers

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A profile's holds (the breaker's lock, a freeze), read from the store at most once a second
/// per profile while there is none, instead of once per request. A hold placed by this process
/// is seen at once; one placed by another process on the same store (another replica, or
/// `devicegate` on this machine) within a second, or at once when the store announces changes
/// (``invalidate(_:)``). While a profile is held it is read on every call, so lifting the hold
/// takes effect at once.
public final class LockCache: Sendable {
    /// A profile's hold and which kind it is.
    public struct Hold: Sendable {
        public let kind: ProfileHoldKind
        public let lock: ProfileLock
    }

    private let store: any ProfileStore
    private let time: any TimeSource
    private let entries = NIOLockedValueBox<[String: (checked: Date, hold: Hold?)]>([:])

    public init(store: any ProfileStore, time: any TimeSource) {
        self.store = store
        self.time = time
    }

    /// The profile's hold, if any. Throws ``StoreUnavailable`` when the store cannot be read:
    /// the caller refuses the call rather than assume there is no hold.
    public func hold(for profile: String) async throws -> Hold? {
        let now = time.now()
        if isKnownUnheld(profile, at: now) { return nil }
        var found: Hold?
        for kind in ProfileHoldKind.allCases {
            if let lock = try await store.hold(kind, for: profile) {
                found = Hold(kind: kind, lock: lock)
                break
            }
        }
        entries.withLockedValue { $0[profile] = (now, found) }
        return found
    }

    /// Whether ``hold(for:)`` would answer "no hold" without reading the store: the profile was
    /// read unheld less than a second ago. The gateway's event loops admit such a call without
    /// a hop; otherwise they ask ``hold(for:)``.
    public func isKnownUnheld(_ profile: String, at now: Date) -> Bool {
        guard let entry = entries.withLockedValue({ $0[profile] }), entry.hold == nil else { return false }
        let age = now.timeIntervalSince(entry.checked)
        return age >= 0 && age < 1
    }

    /// Places a hold and makes it visible to this process at once.
    public func place(_ kind: ProfileHoldKind, _ lock: ProfileLock) async throws {
        entries.withLockedValue { $0[lock.profile] = (time.now(), Hold(kind: kind, lock: lock)) }
        try await store.place(kind, lock)
    }

    /// Lifts a hold and makes that visible to this process at once. Returns whether there was one.
    @discardableResult
    public func lift(_ kind: ProfileHoldKind, for profile: String) async throws -> Bool {
        defer { invalidate(profile) }
        return try await store.lift(kind, for: profile)
    }

    /// Forgets what was read for `profile` (nil: for every profile), so the next call reads the
    /// store: the store announced a change.
    public func invalidate(_ profile: String?) {
        entries.withLockedValue { entries in
            if let profile { entries[profile] = nil } else { entries.removeAll() }
        }
    }
}
