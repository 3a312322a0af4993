import DeviceGateKit
import NIOConcurrencyHelpers
import Prometheus

/// The gateway's Prometheus series, made on the registry the program hands in (no global
/// metrics system is touched by the library), each handle once per label set and then reused:
/// looking a series up per request would cost a registry lock and allocations on the hot path.
final class GatewayMetrics: AccessMetrics {
    let registry: PrometheusCollectorRegistry
    private let counters = NIOLockedValueBox<[String: Counter]>([:])
    private let histograms = NIOLockedValueBox<[String: DurationHistogram]>([:])

    static let buckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10),
    ]

    init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    func countRequest(profile: String?, outcome: String, status: Int) {
        counter(
            .init(namespace: "devicegate", subsystem: "gateway", metricName: "requests", unitName: "total", helpText: "Calls answered"),
            [("profile", profile ?? "-"), ("outcome", outcome), ("status", String(status))]
        )
        .increment()
    }

    func observe(profile: String, duration: Duration, bytes: Int) {
        histogram(
            .init(
                namespace: "devicegate", subsystem: "gateway", metricName: "request_duration", unitName: "seconds",
                helpText: "Time from request to the end of the answer"), [("profile", profile)]
        ).record(duration)
        counter(
            .init(
                namespace: "devicegate", subsystem: "gateway", metricName: "response_bytes", unitName: "total",
                helpText: "Answer body bytes relayed"), [("profile", profile)]
        ).increment(by: Int64(bytes))
    }

    func breakerTripped(profile: String) {
        counter(
            .init(namespace: "devicegate", subsystem: "gateway", metricName: "breaker_trips", unitName: "total", helpText: "Breaker locks"),
            [("profile", profile)]
        ).increment()
    }

    private func counter(_ descriptor: MetricNameDescriptor, _ labels: [(String, String)]) -> Counter {
        let key = Self.key(descriptor.name, labels)
        if let existing = counters.withLockedValue({ $0[key] }) { return existing }
        let made = registry.makeCounter(descriptor: descriptor, labels: labels)
        return counters.withLockedValue { table in
            if let existing = table[key] { return existing }
            table[key] = made
            return made
        }
    }

    private func histogram(_ descriptor: MetricNameDescriptor, _ labels: [(String, String)]) -> DurationHistogram {
        let key = Self.key(descriptor.name, labels)
        if let existing = histograms.withLockedValue({ $0[key] }) { return existing }
        let made = registry.makeDurationHistogram(descriptor: descriptor, labels: labels, buckets: Self.buckets)
        return histograms.withLockedValue { table in
            if let existing = table[key] { return existing }
            table[key] = made
            return made
        }
    }

    static func key(_ name: String, _ labels: [(String, String)]) -> String {
        var key = name
        for (label, value) in labels {
            key += "\u{0}" + label + "\u{0}" + value
        }
        return key
    }
}
