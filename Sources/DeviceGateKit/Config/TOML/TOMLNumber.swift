/// Integers and floats from their written form. Every rule of TOML 1.0 is checked (underscores
/// only between digits, no leading zeros, prefixes in lower case and without a sign) and values
/// that do not fit in 64 bits are refused with overflow-reporting arithmetic, never trapped on.
enum TOMLNumber {
    static func parse(_ token: [UInt8]) throws -> TOMLValue.Kind {
        var body = token[...]
        var negative = false
        var signed = false
        if let first = body.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
            negative = first == UInt8(ascii: "-")
            signed = true
            body = body.dropFirst()
        }
        if body.elementsEqual("inf".utf8) { return .float(negative ? -.infinity : .infinity) }
        if body.elementsEqual("nan".utf8) { return .float(.nan) }
        if body.count >= 2, body.first == UInt8(ascii: "0"), let radix = radix(body.dropFirst().first) {
            guard !signed else { throw TOMLValueRefusal(message: "a hexadecimal, octal or binary integer cannot have a sign") }
            return .integer(try prefixed(body.dropFirst(2), radix: radix))
        }
        let exponentStart = body.firstIndex { $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
        let mantissa = body[..<(exponentStart ?? body.endIndex)]
        let pointIndex = mantissa.firstIndex(of: UInt8(ascii: "."))
        let integerPart = mantissa[..<(pointIndex ?? mantissa.endIndex)]
        let integerDigits = try digits(integerPart, what: "the number", allowed: isDecimal)
        if integerDigits.count > 1, integerDigits.first == UInt8(ascii: "0") {
            throw TOMLValueRefusal(message: "a number cannot start with a zero (write 7, not 07; 0o7 for octal)")
        }
        guard pointIndex != nil || exponentStart != nil else {
            return .integer(try decimal(integerDigits, negative: negative))
        }
        var text = negative ? "-" : ""
        text += String(decoding: integerDigits, as: UTF8.self)
        if let pointIndex {
            let fraction = try digits(mantissa[(pointIndex + 1)...], what: "the fraction after `.`", allowed: isDecimal)
            text += "." + String(decoding: fraction, as: UTF8.self)
        }
        if let exponentStart {
            var exponent = body[(exponentStart + 1)...]
            var sign = ""
            if let first = exponent.first, first == UInt8(ascii: "+") || first == UInt8(ascii: "-") {
                sign = first == UInt8(ascii: "-") ? "-" : "+"
                exponent = exponent.dropFirst()
            }
            let exponentDigits = try digits(exponent, what: "the exponent", allowed: isDecimal)
            text += "e" + sign + String(decoding: exponentDigits, as: UTF8.self)
        }
        guard let value = Double(text), value.isFinite else {
            throw TOMLValueRefusal(message: "the number is too large for a 64-bit floating-point value")
        }
        return .float(value)
    }

    private static func radix(_ letter: UInt8?) -> UInt64? {
        switch letter {
        case UInt8(ascii: "x"): 16
        case UInt8(ascii: "o"): 8
        case UInt8(ascii: "b"): 2
        default: nil
        }
    }

    private static func isDecimal(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }

    /// The digits of `part` without its underscores, each of which must stand between two digits.
    private static func digits(_ part: ArraySlice<UInt8>, what: String, allowed: (UInt8) -> Bool) throws -> [UInt8] {
        var result: [UInt8] = []
        var previousWasDigit = false
        for byte in part {
            if byte == UInt8(ascii: "_") {
                guard previousWasDigit else { throw TOMLValueRefusal(message: "an underscore in a number must stand between two digits") }
                previousWasDigit = false
            } else {
                guard allowed(byte) else {
                    throw TOMLValueRefusal(message: "\(TOMLScanner.describe(byte)) does not belong in \(what)")
                }
                result.append(byte)
                previousWasDigit = true
            }
        }
        guard !result.isEmpty else { throw TOMLValueRefusal(message: "\(what) has no digits") }
        guard previousWasDigit else { throw TOMLValueRefusal(message: "an underscore in a number must stand between two digits") }
        return result
    }

    private static func prefixed(_ part: ArraySlice<UInt8>, radix: UInt64) throws -> Int64 {
        let name = radix == 16 ? "hexadecimal" : radix == 8 ? "octal" : "binary"
        let digitList = try digits(
            part, what: "the \(name) number", allowed: { RequestPath.hex($0).map { UInt64($0) < radix } ?? false })
        var value: Int64 = 0
        for byte in digitList {
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: Int64(radix))
            let (sum, overflow2) = shifted.addingReportingOverflow(Int64(RequestPath.hex(byte) ?? 0))
            guard !overflow1, !overflow2 else { throw TOMLValueRefusal(message: "the integer does not fit in 64 bits") }
            value = sum
        }
        return value
    }

    /// Accumulates the magnitude in 64 unsigned bits, so that -9223372036854775808 fits and one more does not.
    private static func decimal(_ digitList: [UInt8], negative: Bool) throws -> Int64 {
        var magnitude: UInt64 = 0
        for byte in digitList {
            let (shifted, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = shifted.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { throw TOMLValueRefusal(message: "the integer does not fit in 64 bits") }
            magnitude = sum
        }
        if negative {
            if magnitude == UInt64(Int64.max) + 1 { return Int64.min }
            guard let value = Int64(exactly: magnitude) else { throw TOMLValueRefusal(message: "the integer does not fit in 64 bits") }
            return -value
        }
        guard let value = Int64(exactly: magnitude) else { throw TOMLValueRefusal(message: "the integer does not fit in 64 bits") }
        return value
    }
}
