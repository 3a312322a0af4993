/// Dates, times and date-times from their written form (RFC 3339 as TOML 1.0 restricts it):
/// `1979-05-27`, `07:32:00.5`, `1979-05-27T07:32:00`, `1979-05-27 07:32:00-07:00`. Every field is
/// range-checked, including the length of the month.
enum TOMLDateTimeParsing {
    /// Whether a token written as a value looks like a date (`dddd-`) or a time (`dd:`), as opposed to a number.
    static func looksLikeDateOrTime(_ token: [UInt8]) -> Bool {
        looksLikeDate(token) || (token.count >= 3 && isDigit(token[0]) && isDigit(token[1]) && token[2] == UInt8(ascii: ":"))
    }

    static func looksLikeDate(_ token: [UInt8]) -> Bool {
        token.count >= 5 && token[0..<4].allSatisfy(isDigit) && token[4] == UInt8(ascii: "-")
    }

    static func parse(_ token: [UInt8]) throws -> TOMLValue.Kind {
        guard looksLikeDate(token) else {
            var cursor = token[...]
            let time = try parseTime(&cursor)
            guard cursor.isEmpty else { throw refusal("a time of day cannot carry an offset or anything else after it") }
            return .time(time)
        }
        var cursor = token[...]
        let date = try parseDate(&cursor)
        guard let delimiter = cursor.first else { return .date(date) }
        guard delimiter == UInt8(ascii: "T") || delimiter == UInt8(ascii: "t") || delimiter == UInt8(ascii: " ") else {
            throw refusal("a date is followed by `T` or a space and a time")
        }
        cursor = cursor.dropFirst()
        let time = try parseTime(&cursor)
        guard let offsetStart = cursor.first else { return .dateTime(TOMLDateTime(date: date, time: time, offsetMinutes: nil)) }
        if offsetStart == UInt8(ascii: "Z") || offsetStart == UInt8(ascii: "z") {
            guard cursor.count == 1 else { throw refusal("nothing may follow the `Z`") }
            return .dateTime(TOMLDateTime(date: date, time: time, offsetMinutes: 0))
        }
        guard offsetStart == UInt8(ascii: "+") || offsetStart == UInt8(ascii: "-") else {
            throw refusal("the offset must be `Z` or like +02:00")
        }
        cursor = cursor.dropFirst()
        guard cursor.count == 5, let hours = twoDigits(cursor, 0), cursor[cursor.startIndex + 2] == UInt8(ascii: ":"),
            let minutes = twoDigits(cursor, 3)
        else { throw refusal("the offset must be `Z` or like +02:00") }
        guard hours <= 23, minutes <= 59 else { throw refusal("the offset is out of range") }
        let offset = (hours * 60 + minutes) * (offsetStart == UInt8(ascii: "-") ? -1 : 1)
        return .dateTime(TOMLDateTime(date: date, time: time, offsetMinutes: offset))
    }

    private static func parseDate(_ cursor: inout ArraySlice<UInt8>) throws -> TOMLDate {
        guard cursor.count >= 10, let high = twoDigits(cursor, 0), let low = twoDigits(cursor, 2),
            cursor[cursor.startIndex + 4] == UInt8(ascii: "-"), let month = twoDigits(cursor, 5),
            cursor[cursor.startIndex + 7] == UInt8(ascii: "-"), let day = twoDigits(cursor, 8)
        else { throw refusal("a date is written YYYY-MM-DD") }
        let year = high * 100 + low
        guard TOMLDate.isValid(year: year, month: month, day: day) else {
            throw refusal("there is no such day")
        }
        cursor = cursor.dropFirst(10)
        return TOMLDate(year: year, month: month, day: day)
    }

    /// `HH:MM:SS` and an optional fraction; TOML 1.0 requires the seconds.
    private static func parseTime(_ cursor: inout ArraySlice<UInt8>) throws -> TOMLTime {
        guard cursor.count >= 8, let hour = twoDigits(cursor, 0), cursor[cursor.startIndex + 2] == UInt8(ascii: ":"),
            let minute = twoDigits(cursor, 3), cursor[cursor.startIndex + 5] == UInt8(ascii: ":"), let second = twoDigits(cursor, 6)
        else { throw refusal("a time is written HH:MM:SS (seconds included)") }
        guard hour <= 23, minute <= 59, second <= 60 else { throw refusal("the time is out of range") }
        cursor = cursor.dropFirst(8)
        var nanosecond = 0
        if cursor.first == UInt8(ascii: ".") {
            cursor = cursor.dropFirst()
            let digits = cursor.prefix(while: isDigit)
            guard !digits.isEmpty else { throw refusal("a `.` in a time must be followed by digits") }
            var scale = 100_000_000
            for digit in digits.prefix(9) {
                nanosecond += Int(digit - UInt8(ascii: "0")) * scale
                scale /= 10
            }
            cursor = cursor.dropFirst(digits.count)
        }
        return TOMLTime(hour: hour, minute: minute, second: second, nanosecond: nanosecond)
    }

    private static func twoDigits(_ slice: ArraySlice<UInt8>, _ at: Int) -> Int? {
        let index = slice.startIndex + at
        guard index + 1 < slice.endIndex, isDigit(slice[index]), isDigit(slice[index + 1]) else { return nil }
        return Int(slice[index] - UInt8(ascii: "0")) * 10 + Int(slice[index + 1] - UInt8(ascii: "0"))
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

    /// A number with `-` or `:` inside (`02026-05-07`, `1:32:00`) was meant as a date or time.
    static func looksLikeMalformedDateOrTime(_ token: [UInt8]) -> Bool {
        guard let first = token.first, isDigit(first), !(token.count > 1 && "xob".utf8.contains(token[1])) else { return false }
        return token.enumerated().contains { index, byte in
            byte == UInt8(ascii: ":")
                || (byte == UInt8(ascii: "-") && index > 0 && token[index - 1] != UInt8(ascii: "e")
                    && token[index - 1] != UInt8(ascii: "E"))
        }
    }

    static func malformed() -> TOMLValueRefusal {
        refusal("a date is written YYYY-MM-DD and a time HH:MM:SS")
    }

    private static func refusal(_ message: String) -> TOMLValueRefusal {
        // The text is not repeated: `bot_token = 123:ABC` unquoted reads as a time gone wrong.
        TOMLValueRefusal(message: "not a valid date or time: \(message)")
    }
}
