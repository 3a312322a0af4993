import DeviceGateKit
import Foundation
import NIOConcurrencyHelpers

/// Time that stands still until the test moves it: a sleep waits until ``advance(_:)`` carries
/// the clock past its deadline (or its task is cancelled). ``ManualTime`` jumps forward on every
/// sleep, which suits polling loops; a deadline raced against a person's answer needs a clock
/// that does not reach the deadline by itself.
public final class SteppedTime: TimeSource, Sendable {
    private struct Sleeper {
        let deadline: Date
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now: Date
        var sleepers: [UUID: Sleeper] = [:]
        var cancelled: Set<UUID> = []
    }

    private let state: NIOLockedValueBox<State>

    public init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) {
        state = NIOLockedValueBox(State(now: start))
    }

    public func now() -> Date { state.withLockedValue { $0.now } }

    /// How many sleeps wait now: a test advances once the code under test is asleep.
    public var sleeping: Int { state.withLockedValue { $0.sleepers.count } }

    public func sleep(seconds: Double) async throws {
        let id = UUID()
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resume: (any Error)?? = state.withLockedValue { s in
                    if s.cancelled.remove(id) != nil { return .some(CancellationError()) }
                    if seconds <= 0 { return .some(nil) }
                    s.sleepers[id] = Sleeper(deadline: s.now.addingTimeInterval(seconds), continuation: continuation)
                    return .none
                }
                switch resume {
                case .some(let error?): continuation.resume(throwing: error)
                case .some(nil): continuation.resume()
                case .none: break
                }
            }
        } onCancel: {
            let sleeper = state.withLockedValue { s -> Sleeper? in
                guard let sleeper = s.sleepers.removeValue(forKey: id) else {
                    s.cancelled.insert(id)
                    return nil
                }
                return sleeper
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves the clock and wakes every sleep whose deadline has come.
    public func advance(_ seconds: Double) {
        let due = state.withLockedValue { s -> [Sleeper] in
            s.now.addTimeInterval(seconds)
            let now = s.now
            let due = s.sleepers.filter { $0.value.deadline <= now }
            for id in due.keys { s.sleepers[id] = nil }
            return Array(due.values)
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Waits (in real time) until `count` sleeps are pending.
    public func waitForSleepers(_ count: Int, timeout: Double = 10) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while sleeping < count {
            guard Date() < deadline else { throw FakeBotAPI.WaitTimeout(what: "\(count) sleeper(s)") }
            try await Task.sleep(nanoseconds: 5_000_000)
        }
    }
}
