/// A calendar date as written (`1979-05-27`), already checked against the calendar.
struct TOMLDate: Sendable, Equatable, CustomStringConvertible {
    let year: Int
    let month: Int
    let day: Int

    var description: String { "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))" }

    /// Whether the day exists: February 29 only in leap years, April 31 never.
    static func isValid(year: Int, month: Int, day: Int) -> Bool {
        guard (1...12).contains(month), day >= 1 else { return false }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return day <= lengths[month - 1]
    }
}

/// A time of day as written (`07:32:00.999`); digits beyond nanoseconds are truncated, as TOML allows.
struct TOMLTime: Sendable, Equatable, CustomStringConvertible {
    let hour: Int
    let minute: Int
    /// 0–60: TOML allows a leap second.
    let second: Int
    let nanosecond: Int

    var description: String {
        var text = "\(pad(hour, 2)):\(pad(minute, 2)):\(pad(second, 2))"
        if nanosecond > 0 {
            var fraction = pad(nanosecond, 9)
            while fraction.hasSuffix("0") { fraction.removeLast() }
            text += "." + fraction
        }
        return text
    }
}

/// A date with a time; with an offset from UTC, or local (no offset) when `offsetMinutes` is nil.
struct TOMLDateTime: Sendable, Equatable, CustomStringConvertible {
    let date: TOMLDate
    let time: TOMLTime
    let offsetMinutes: Int?

    var description: String {
        let base = "\(date)T\(time)"
        guard let offset = offsetMinutes else { return base }
        if offset == 0 { return base + "Z" }
        let magnitude = abs(offset)
        return base + (offset < 0 ? "-" : "+") + "\(pad(magnitude / 60, 2)):\(pad(magnitude % 60, 2))"
    }
}

private func pad(_ value: Int, _ width: Int) -> String {
    let digits = String(value)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}
