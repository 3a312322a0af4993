import DeviceGateKit
import Foundation
import NIOConcurrencyHelpers

/// Time that moves only when code sleeps: a fifteen-minute device flow runs in milliseconds,
/// and every wait is recorded so tests can assert the polling schedule.
public final class ManualTime: TimeSource, Sendable {
    private let state: NIOLockedValueBox<(now: Date, sleeps: [Double])>

    public init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        state = NIOLockedValueBox((start, []))
    }

    public func now() -> Date { state.withLockedValue { $0.now } }
    public var sleeps: [Double] { state.withLockedValue { $0.sleeps } }

    public func sleep(seconds: Double) async throws {
        try Task.checkCancellation()
        state.withLockedValue {
            $0.now.addTimeInterval(seconds)
            $0.sleeps.append(seconds)
        }
        await Task.yield()
        try Task.checkCancellation()
    }

    public func advance(_ seconds: Double) { state.withLockedValue { $0.now.addTimeInterval(seconds) } }
}
