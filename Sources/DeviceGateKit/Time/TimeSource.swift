#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Where devicegate gets the time and how it waits.
///
/// Polling intervals, slow_down, code expiry and token expiry all read this, so tests run a
/// fifteen-minute device flow in milliseconds with a manual time source instead of sleeping.
public protocol TimeSource: Sendable {
    func now() -> Date
    /// Waits, or throws `CancellationError` at once when the task is cancelled.
    func sleep(seconds: Double) async throws
}

public struct SystemTimeSource: TimeSource {
    public init() {}
    public func now() -> Date { Date() }
    public func sleep(seconds: Double) async throws {
        guard seconds > 0 else { return try Task.checkCancellation() }
        try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
    }
}
