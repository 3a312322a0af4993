#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An HTTP date (RFC 9110 §5.6.7, `Sun, 06 Nov 1994 08:49:37 GMT`) read without `DateFormatter`,
/// which links ICU. It takes what the `EEE, dd MMM yyyy HH:mm:ss zzz` pattern in the POSIX
/// locale took: English day and month abbreviations in any case, a one- or two-digit day, and
/// the zone as `GMT`, `UTC`, `UT`, `Z`, `GMT±hh:mm` or a US zone abbreviation (`EST`, `PDT`, …).
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
        guard day <= daysIn(month: month, year: year) else { return nil }
        let seconds = daysFromEpoch(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds))
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
        let digits = rest.dropFirst().filter { $0 != ":" }
        guard digits.count == 4 || digits.count <= 2, let value = number(Substring(digits), digits: 1...4) else { return nil }
        let (hours, minutes) = digits.count == 4 ? (value / 100, value % 100) : (value, 0)
        guard hours <= 14, minutes < 60 else { return nil }
        return (sign == "+" ? 1 : -1) * (hours * 3600 + minutes * 60)
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    private static func daysFromEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
