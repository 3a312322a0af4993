/// The four kinds of TOML string: basic (`"…"`, with escapes), literal (`'…'`), and the
/// multi-line form of each (`"""…"""`, `'''…'''`). Control characters other than tab are refused
/// everywhere, as TOML requires; line breaks only inside the multi-line forms.
extension TOMLScanner {
    static let quote = UInt8(ascii: "\"")
    static let apostrophe = UInt8(ascii: "'")
    static let backslash = UInt8(ascii: "\\")

    /// Whether the cursor is at `"""` or `'''`.
    func atMultilineDelimiter(_ delimiter: UInt8) -> Bool {
        peek() == delimiter && peek(1) == delimiter && peek(2) == delimiter
    }

    /// Reads any of the four kinds; the cursor is at its opening quote.
    mutating func scanString() throws -> String {
        let escapes = peek() == Self.quote
        return atMultilineDelimiter(escapes ? Self.quote : Self.apostrophe)
            ? try scanMultilineString(escapes: escapes) : try scanSingleLineString(escapes: escapes)
    }

    /// `"…"` (with escapes) or `'…'` (without); the cursor is at the opening quote.
    mutating func scanSingleLineString(escapes: Bool) throws -> String {
        let delimiter = escapes ? Self.quote : Self.apostrophe
        let shown = escapes ? "\"" : "'"
        let start = position
        advance()
        var text: [UInt8] = []
        while true {
            guard let byte = peek() else { throw error("this string is never closed with `\(shown)`", at: start) }
            switch byte {
            case delimiter:
                advance()
                return String(decoding: text, as: UTF8.self)
            case Self.backslash where escapes:
                try scanEscape(into: &text)
            case 0x0A, 0x0D:
                let triple = String(repeating: shown, count: 3)
                throw error(
                    "a string in \(shown)…\(shown) must end on the line it starts; use \(triple)…\(triple) for several lines")
            default:
                try checkStringByte(byte)
                text.append(byte)
                advance()
            }
        }
    }

    /// `"""…"""` (with escapes and line-ending backslashes) or `'''…'''`; the cursor is at the opening delimiter.
    mutating func scanMultilineString(escapes: Bool) throws -> String {
        let delimiter = escapes ? Self.quote : Self.apostrophe
        let start = position
        advance(3)
        try consumeNewline()  // a line break right after the opening delimiter is not part of the string
        var text: [UInt8] = []
        while true {
            guard let byte = peek() else {
                throw error("this string is never closed with `\(escapes ? "\"\"\"" : "'''")`", at: start)
            }
            switch byte {
            case delimiter:
                if try scanClosingQuotes(delimiter, into: &text) { return String(decoding: text, as: UTF8.self) }
            case Self.backslash where escapes:
                if try skipLineEndingBackslash() { continue }
                try scanEscape(into: &text)
            case 0x0A, 0x0D:
                try appendNewline(to: &text)
            default:
                try checkStringByte(byte)
                text.append(byte)
                advance()
            }
        }
    }

    /// At a run of quotes inside a multi-line string: fewer than three are text; three end the
    /// string, and up to two more before them are still text (`""""` is `"` then the end); six or more are an error.
    private mutating func scanClosingQuotes(_ delimiter: UInt8, into text: inout [UInt8]) throws -> Bool {
        var count = 0
        while peek(count) == delimiter { count += 1 }
        guard count >= 3 else {
            text.append(contentsOf: repeatElement(delimiter, count: count))
            advance(count)
            return false
        }
        guard count <= 5 else {
            throw error("too many quotes: a multi-line string ends with three, and at most two more may come before them")
        }
        text.append(contentsOf: repeatElement(delimiter, count: count - 3))
        advance(count)
        return true
    }

    private mutating func appendNewline(to text: inout [UInt8]) throws {
        if peek() == 0x0D { text.append(0x0D) }
        guard try consumeNewline() else { throw error("a carriage return must be followed by a line feed") }
        text.append(0x0A)
    }

    /// A backslash that ends its line (spaces may follow it) swallows the line break and all
    /// whitespace and line breaks after it. Answers false, without moving, for any other backslash.
    private mutating func skipLineEndingBackslash() throws -> Bool {
        var ahead = 1
        while let byte = peek(ahead), byte == 0x20 || byte == 0x09 { ahead += 1 }
        guard peek(ahead) == 0x0A || (peek(ahead) == 0x0D && peek(ahead + 1) == 0x0A) else { return false }
        advance(ahead)
        while true {
            skipWhitespace()
            guard try consumeNewline() else { return true }
        }
    }

    /// `\b \t \n \f \r \" \\ \uXXXX \UXXXXXXXX`; anything else after a backslash is an error.
    private mutating func scanEscape(into text: inout [UInt8]) throws {
        let start = position
        advance()
        guard let letter = peek() else { throw error("the string ends inside an escape sequence", at: start) }
        let simple: [UInt8: UInt8] = [
            UInt8(ascii: "b"): 0x08, UInt8(ascii: "t"): 0x09, UInt8(ascii: "n"): 0x0A, UInt8(ascii: "f"): 0x0C,
            UInt8(ascii: "r"): 0x0D, Self.quote: Self.quote, Self.backslash: Self.backslash,
        ]
        if let replacement = simple[letter] {
            text.append(replacement)
            advance()
            return
        }
        let digits: Int
        switch letter {
        case UInt8(ascii: "u"): digits = 4
        case UInt8(ascii: "U"): digits = 8
        default:
            let shown =
                (0x21...0x7E).contains(letter) ? "`\\\(Character(Unicode.Scalar(letter)))`" : "a backslash before \(Self.describe(letter))"
            throw error("\(shown) is not an escape TOML knows; write \\\\ for a backslash", at: start)
        }
        advance()
        var value: UInt32 = 0
        for _ in 0..<digits {
            guard let byte = peek(), let digit = RequestPath.hex(byte) else {
                throw error("\\\(Character(Unicode.Scalar(letter))) needs exactly \(digits) hexadecimal digits", at: start)
            }
            value = value << 4 | UInt32(digit)  // at most 8 digits: fits in 32 bits
            advance()
        }
        guard let scalar = Unicode.Scalar(value) else {
            throw error(
                "\\\(Character(Unicode.Scalar(letter))) names U+\(String(value, radix: 16, uppercase: true)), which is not a Unicode character",
                at: start)
        }
        text.append(contentsOf: Array(String(Character(scalar)).utf8))
    }

    /// Tab and everything printable; TOML refuses the other control characters (and DEL) in strings.
    private func checkStringByte(_ byte: UInt8) throws {
        guard byte == 0x09 || (byte >= 0x20 && byte != 0x7F) else {
            throw error("\(Self.describe(byte)) is not allowed in a string; write it as an escape such as \\u0001")
        }
    }
}
