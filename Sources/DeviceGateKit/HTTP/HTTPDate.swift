#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An HTTP date (RFC 9110 §5.6.7, `Sun, 06 Nov 1994 08:49:37 GMT`) read without `DateFormatter`,
/// which links ICU. It takes what the `EEE, dd MMM yyyy HH:mm:ss zzz` pattern in the POSIX
/// locale took: English day and month abbreviations in any case, a one- or two-digit day, and
/// the zone as `GMT`, `UTC`, `UT`, `Z`, `GMT±hh:mm` (`UTC±hh:mm`) or a US zone abbreviation (`EST`, `PDT`, …).
enum HTTPDate {
    static func parse(_ text: String) -> Date? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[0].hasSuffix(","), weekdays.contains(parts[0].dropLast().lowercased()),
            let day = number(parts[1], digits: 1...2), (1...31).contains(day),
            let monthIndex = months.firstIndex(of: parts[2].lowercased()),
            let year = number(parts[3], digits: 4...4)
        else { return nil }
        let clock = parts[4].split(separator: ":", omittingEmptySubsequences: false)
        guard clock.count == 3, let hour = number(clock[0], digits: 2...2), let minute = number(clock[1], digits: 2...2),
            let second = number(clock[2], digits: 2...2), hour < 24, minute < 60, second < 61,
            let offset = zoneOffset(parts[5])
        else { return nil }
        let month = monthIndex + 1
        guard day <= InternetTime.daysIn(month: Int64(month), year: Int64(year)) else { return nil }
        let days = InternetTime.daysFromEpoch(year: Int64(year), month: Int64(month), day: Int64(day))
        return Date(timeIntervalSince1970: Double(days * 86_400 + Int64(hour * 3600 + minute * 60 + second - offset)))
    }

    private static let weekdays: Set<String> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    /// RFC 5322's obsolete zone names, the ones a US-English zone pattern also reads.
    private static let zones: [String: Int] = [
        "gmt": 0, "utc": 0, "ut": 0, "z": 0, "est": -5, "edt": -4, "cst": -6, "cdt": -5, "mst": -7, "mdt": -6, "pst": -8, "pdt": -7,
    ]

    private static func number(_ text: Substring, digits: ClosedRange<Int>) -> Int? {
        guard digits.contains(text.count), text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        return Int(text)
    }

    /// Seconds east of UTC.
    private static func zoneOffset(_ zone: Substring) -> Int? {
        let lower = zone.lowercased()
        if let hours = zones[lower] { return hours * 3600 }
        guard lower.hasPrefix("gmt") || lower.hasPrefix("utc") else { return nil }
        let rest = lower.dropFirst(3)
        guard let sign = rest.first, sign == "+" || sign == "-" else { return nil }
        let clock = rest.dropFirst().split(separator: ":", omittingEmptySubsequences: false)
        guard clock.count == 2, let hours = number(clock[0], digits: 2...2), let minutes = number(clock[1], digits: 2...2), hours <= 14,
            minutes < 60
        else { return nil }
        return (sign == "+" ? 1 : -1) * (hours * 3600 + minutes * 60)
    }
}
