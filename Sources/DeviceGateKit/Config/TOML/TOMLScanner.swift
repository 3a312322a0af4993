/// A cursor over the bytes of a TOML document that knows its line, and turns every mistake into a
/// ``TOMLError`` at the current position. Reading never goes past the end: `peek` answers nil there.
///
/// The document is checked to be UTF-8 once, up front, so the rest can treat every byte from 0x80
/// up as part of a valid non-ASCII character.
struct TOMLScanner {
    let bytes: [UInt8]
    private(set) var offset = 0
    private(set) var line = 1
    /// 1-based, in characters: counted as the cursor moves, so reporting a position costs nothing.
    private var column = 1

    init(_ bytes: [UInt8]) throws {
        self.bytes = bytes
        if let bad = Self.firstInvalidUTF8(in: bytes) {
            var lineStart = 0
            for index in 0..<bad where bytes[index] == 0x0A {
                line += 1
                lineStart = index + 1
            }
            // The bytes before `bad` are valid UTF-8, so counting lead bytes counts characters.
            column = bytes[lineStart..<bad].reduce(1) { $1 & 0xC0 == 0x80 ? $0 : $0 + 1 }
            offset = bad
            throw error("the file is not valid UTF-8 text here")
        }
        // A byte order mark is tolerated at the very start only.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { offset = 3 }
    }

    /// The offset of the first byte that does not begin valid UTF-8, by the standard library's strict
    /// decoder (no overlong forms, no surrogates); nil when the whole text is valid.
    private static func firstInvalidUTF8(in bytes: [UInt8]) -> Int? {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded): offset += encoded.count
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }

    var isAtEnd: Bool { offset >= bytes.count }

    func peek(_ ahead: Int = 0) -> UInt8? {
        let index = offset + ahead
        return index < bytes.count ? bytes[index] : nil
    }

    /// Steps over bytes that are not line breaks (callers use ``consumeNewline()`` for those).
    mutating func advance() {
        guard offset < bytes.count else { return }
        if bytes[offset] & 0xC0 != 0x80 { column += 1 }
        offset += 1
    }

    mutating func advance(_ count: Int) {
        for _ in 0..<count { advance() }
    }

    /// Whether the cursor is at `\n` or `\r\n`.
    var atNewline: Bool { peek() == 0x0A || (peek() == 0x0D && peek(1) == 0x0A) }

    /// Consumes `\n` or `\r\n`; a carriage return alone is refused, as TOML does.
    @discardableResult
    mutating func consumeNewline() throws -> Bool {
        if peek() == 0x0D {
            guard peek(1) == 0x0A else { throw error("a carriage return must be followed by a line feed") }
            advance()
        }
        guard peek() == 0x0A else { return false }
        offset += 1
        line += 1
        column = 1
        return true
    }

    mutating func skipWhitespace() {
        while let byte = peek(), byte == 0x20 || byte == 0x09 { advance() }
    }

    /// Skips a `#` comment up to (not including) the line break, refusing control characters in it.
    mutating func skipComment() throws {
        guard peek() == UInt8(ascii: "#") else { return }
        advance()
        while let byte = peek() {
            if byte == 0x0A || (byte == 0x0D && peek(1) == 0x0A) { return }
            guard byte != 0x0D else { throw error("a carriage return must be followed by a line feed") }
            guard byte == 0x09 || (byte >= 0x20 && byte != 0x7F) else {
                throw error("\(Self.describe(byte)) is not allowed in a comment")
            }
            advance()
        }
    }

    /// Whitespace, then an optional comment, then a line break or the end of the file.
    mutating func expectLineEnd(after what: String) throws {
        skipWhitespace()
        try skipComment()
        if isAtEnd { return }
        guard try consumeNewline() else {
            throw error("expected the end of the line after \(what), found \(found)")
        }
    }

    /// Skips whitespace, comments and line breaks, as allowed between the values of an array.
    mutating func skipWhitespaceCommentsAndNewlines() throws {
        while true {
            skipWhitespace()
            try skipComment()
            guard try consumeNewline() else { return }
        }
    }

    /// What is at the cursor, for messages: "`x`", "the end of the line", "the end of the file".
    var found: String { Self.describe(peek()) }

    static func describe(_ byte: UInt8?) -> String {
        guard let byte else { return "the end of the file" }
        switch byte {
        case 0x0A, 0x0D: return "the end of the line"
        case 0x21...0x7E: return "`\(Character(Unicode.Scalar(byte)))`"
        case 0x20: return "a space"
        case 0x09: return "a tab"
        case 0x80...: return "a non-ASCII character"
        default:
            let hex = String(byte, radix: 16, uppercase: true)
            return "the control character U+\(String(repeating: "0", count: 4 - hex.count))\(hex)"
        }
    }

    /// The position of the cursor, to report an error found later at an earlier place.
    var position: Position { Position(line: line, column: column) }

    func error(_ message: String) -> TOMLError { error(message, at: position) }

    func error(_ message: String, at position: Position) -> TOMLError {
        TOMLError(line: position.line, column: position.column, message: message)
    }

    struct Position: Sendable {
        let line: Int
        let column: Int
    }
}
