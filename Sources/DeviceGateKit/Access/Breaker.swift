#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Counts failures per profile over the last minute and says when one must be locked.
///
/// Failed sign-ins, policy denials and upstream 401s that a refresh did not cure are the signs
/// of an agent gone astray or a stolen grant; past a threshold the gateway locks the profile,
/// revokes its tokens and tells the person.
public actor Breaker {
    public enum Signal: String, Sendable {
        case failedSignIn = "failed sign-ins"
        case denial = "policy denials"
        case upstreamRejection = "upstream rejections after a refresh"
    }

    private let thresholds: [Signal: Int]
    private var events: [String: [(Signal, Date)]] = [:]

    public init(_ config: GatewayConfig) {
        thresholds = [
            .failedSignIn: config.breakerFailedSignIns, .denial: config.breakerDenials,
            .upstreamRejection: config.breakerUpstreamRejections,
        ]
    }

    /// Records one event; returns the reason to lock when a threshold is exceeded.
    public func record(_ signal: Signal, profile: String, now: Date) -> String? {
        var list = events[profile, default: []].filter { now.timeIntervalSince($0.1) < 60 }
        list.append((signal, now))
        events[profile] = list
        let count = list.filter { $0.0 == signal }.count
        guard let limit = thresholds[signal], count > limit else { return nil }
        events[profile] = []
        return "\(count) \(signal.rawValue) within a minute (limit \(limit))"
    }
}
