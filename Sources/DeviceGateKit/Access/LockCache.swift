import Foundation
import NIOConcurrencyHelpers

/// The breaker's lock files, read at most once a second per profile while unlocked, instead of
/// once per request. A lock written by this process is seen at once; one written by another
/// process (`devicegate` on the same store) within a second. While a profile is locked its file
/// is read on every call, so an unlock takes effect at once.
public final class LockCache: Sendable {
    private let directory: String
    private let time: any TimeSource
    private let entries = NIOLockedValueBox<[String: (checked: Date, lock: ProfileLock?)]>([:])

    public init(directory: String, time: any TimeSource) {
        self.directory = directory
        self.time = time
    }

    public func lock(for profile: String) -> ProfileLock? {
        let now = time.now()
        if let entry = entries.withLockedValue({ $0[profile] }), entry.lock == nil {
            let age = now.timeIntervalSince(entry.checked)
            if age >= 0, age < 1 { return nil }
        }
        let lock = ProfileLock.read(profile, in: directory)
        entries.withLockedValue { $0[profile] = (now, lock) }
        return lock
    }

    /// Writes a lock and makes it visible to this process at once.
    public func write(_ lock: ProfileLock) throws {
        entries.withLockedValue { $0[lock.profile] = (time.now(), lock) }
        try lock.write(in: directory)
    }
}
