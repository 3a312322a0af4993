import NIOConcurrencyHelpers

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Requests per minute and per hour, per profile, over sliding windows. Synchronous (a lock, not
/// an actor) so the gateway's event loops admit a call without a hop.
public final class RateLimiter: Sendable {
    public init() {}

    private let history = NIOLockedValueBox<[String: [Date]]>([:])

    /// nil when admitted (and counted); otherwise the seconds until a slot frees.
    public func admit(_ profile: String, perMinute: Int?, perHour: Int?, now: Date) -> Double? {
        guard perMinute != nil || perHour != nil else { return nil }
        return history.withLockedValue { history in
            var times = history[profile, default: []]
            times.removeAll { now.timeIntervalSince($0) >= 3600 }
            let lastMinute = times.filter { now.timeIntervalSince($0) < 60 }
            if let perMinute, lastMinute.count >= perMinute, let oldest = lastMinute.first {
                history[profile] = times
                return max(1, 60 - now.timeIntervalSince(oldest))
            }
            if let perHour, times.count >= perHour, let oldest = times.first {
                history[profile] = times
                return max(1, 3600 - now.timeIntervalSince(oldest))
            }
            times.append(now)
            history[profile] = times
            return nil
        }
    }
}
