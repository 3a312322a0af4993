#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// RFC 3339 times in UTC (`2026-12-01T02:04:58Z`, with `.123` milliseconds when asked), written
/// and read as `ISO8601DateFormatter` did with `.withInternetDateTime` (and
/// `.withFractionalSeconds`), without the ICU it links: the time is rounded to the nearest
/// millisecond first, so 08:00:00.9999 is written 08:00:01.
public enum InternetTime {
    public static func string(_ date: Date, fractionalSeconds: Bool = false) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded())
        let seconds = Int64((Double(milliseconds) / 1000).rounded(.down))
        let days = Int64((Double(seconds) / 86_400).rounded(.down))
        let ofDay = seconds - days * 86_400
        let (year, month, day) = civil(days)
        var text = String(
            printf: "%04ld-%02ld-%02ldT%02ld:%02ld:%02ld", Int(year), Int(month), Int(day), Int(ofDay / 3600), Int(ofDay % 3600 / 60),
            Int(ofDay % 60))
        if fractionalSeconds { text += String(printf: ".%03ld", Int(milliseconds - seconds * 1000)) }
        return text + "Z"
    }

    /// `YYYY-MM-DDTHH:MM:SS`, a fraction (required with `fractionalSeconds`, refused without),
    /// and `Z` or an offset `±HH:MM`; nil for anything else. As leniently as the formatter: the
    /// 30th of February is the 2nd of March, and 24:00 midnight at the end of the day.
    public static func date(_ text: String, fractionalSeconds: Bool = false) -> Date? {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int64? {
            guard range.upperBound <= bytes.count, bytes[range].allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
            return bytes[range].reduce(0) { $0 * 10 + Int64($1 - 0x30) }
        }
        func at(_ index: Int, _ character: Character) -> Bool { index < bytes.count && bytes[index] == character.asciiValue }
        guard let year = number(0..<4), at(4, "-"), let month = number(5..<7), at(7, "-"), let day = number(8..<10),
            at(10, "T") || at(10, "t"), let hour = number(11..<13), at(13, ":"), let minute = number(14..<16), at(16, ":"),
            let second = number(17..<19), (1...12).contains(month), (1...31).contains(day), hour <= 24, minute < 60, second < 60
        else { return nil }
        var index = 19
        var fraction = 0.0
        if at(index, ".") {
            guard fractionalSeconds else { return nil }
            let start = index + 1
            index = start
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) { index += 1 }
            guard index > start, let value = Double("0." + String(decoding: bytes[start..<index], as: UTF8.self)) else { return nil }
            fraction = value
        } else if fractionalSeconds {
            return nil
        }
        var offset: Int64 = 0
        if at(index, "Z") || at(index, "z") {
            index += 1
        } else if at(index, "+") || at(index, "-") {
            guard let hours = number(index + 1..<index + 3), at(index + 3, ":"), let minutes = number(index + 4..<index + 6), hours < 24,
                minutes < 60
            else { return nil }
            offset = (hours * 3600 + minutes * 60) * (at(index, "-") ? -1 : 1)
            index += 6
        } else {
            return nil
        }
        guard index == bytes.count else { return nil }
        let seconds = daysFromEpoch(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
    static func daysFromEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date `days` after 1970-01-01 (Hinnant's `civil_from_days`).
    static func civil(_ days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
