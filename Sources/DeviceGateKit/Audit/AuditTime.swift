#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The `time` of an audit record: RFC 3339 in UTC with milliseconds (`2026-11-30T22:25:01.123Z`).
public enum AuditTime {
    public static func string(_ date: Date) -> String { InternetTime.string(date, fractionalSeconds: true) }

    /// The time of a record's `time` field; nil for anything else.
    @Sendable public static func date(_ text: String) -> Date? { InternetTime.date(text, fractionalSeconds: true) }
}
