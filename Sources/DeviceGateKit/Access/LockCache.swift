import Foundation
import NIOConcurrencyHelpers

/// The breaker's lock files and the person's freeze files, read at most once a second per
/// profile while absent, instead of once per request. A lock or freeze written through this
/// cache is seen at once; one written by another process (`devicegate` on the same store, the
/// bot) within a second. While a profile is locked or frozen its file is read on every call, so
/// lifting it takes effect at once.
public final class LockCache: Sendable {
    private struct Key: Hashable {
        let profile: String
        let kind: ProfileLock.Kind
    }

    private let directory: String
    private let time: any TimeSource
    private let entries = NIOLockedValueBox<[Key: (checked: Date, lock: ProfileLock?)]>([:])

    public init(directory: String, time: any TimeSource) {
        self.directory = directory
        self.time = time
    }

    /// The breaker's lock on `profile`, if any.
    public func lock(for profile: String) -> ProfileLock? { read(Key(profile: profile, kind: .breaker)) }

    /// The person's freeze on `profile`, if any.
    public func frozen(_ profile: String) -> ProfileLock? { read(Key(profile: profile, kind: .frozen)) }

    private func read(_ key: Key) -> ProfileLock? {
        let now = time.now()
        if let entry = entries.withLockedValue({ $0[key] }), entry.lock == nil {
            let age = now.timeIntervalSince(entry.checked)
            if age >= 0, age < 1 { return nil }
        }
        let lock = ProfileLock.read(key.profile, in: directory, kind: key.kind)
        entries.withLockedValue { $0[key] = (now, lock) }
        return lock
    }

    /// Writes a lock or freeze and makes it visible to this process at once.
    public func write(_ lock: ProfileLock) throws {
        entries.withLockedValue { $0[Key(profile: lock.profile, kind: lock.kind)] = (time.now(), lock) }
        try lock.write(in: directory)
    }

    /// Lifts a lock or freeze. Returns whether there was one.
    @discardableResult
    public func remove(_ profile: String, kind: ProfileLock.Kind) throws -> Bool {
        defer { entries.withLockedValue { $0[Key(profile: profile, kind: kind)] = nil } }
        return try ProfileLock.remove(profile, in: directory, kind: kind)
    }
}
