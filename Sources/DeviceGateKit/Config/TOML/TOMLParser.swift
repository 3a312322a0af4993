/// A strict TOML 1.0 parser that reports every mistake as a ``TOMLError`` (line, column and what
/// is wrong) and never traps: no force unwraps, checked arithmetic, and nesting capped at
/// ``TOMLDocumentBuilder/maxDepth`` so recursion is bounded.
///
/// It replaces TOMLKit, whose bundled C++ parser (toml++) aborts the process on some malformed
/// input (`[` then a line break): a config file must end in a configuration error, not a crash.
struct TOMLParser {
    private var scanner: TOMLScanner
    private var builder = TOMLDocumentBuilder()
    /// The table that key/value lines go into: the root, then the last header's.
    private var current = TOMLDocumentBuilder.root

    /// Parses a whole document (UTF-8 bytes; a leading byte order mark is allowed).
    static func parse(_ bytes: [UInt8]) throws -> TOMLTable {
        var parser = try TOMLParser(bytes)
        return try parser.document()
    }

    private init(_ bytes: [UInt8]) throws {
        scanner = try TOMLScanner(bytes)
    }

    private mutating func document() throws -> TOMLTable {
        while true {
            scanner.skipWhitespace()
            guard let byte = scanner.peek() else { break }
            switch byte {
            case UInt8(ascii: "#"), 0x0A, 0x0D:
                try scanner.expectLineEnd(after: "a comment")
            case UInt8(ascii: "["):
                try header()
                try scanner.expectLineEnd(after: "the table header")
            default:
                let key = try keyValue(into: current)
                try scanner.expectLineEnd(after: "the value of `\(TOMLKeyPart.display(key))`")
            }
        }
        return builder.build()
    }

    /// `[a.b]` or `[[a.b]]`, all on one line.
    private mutating func header() throws {
        scanner.advance()
        let isArray = scanner.peek() == UInt8(ascii: "[")
        if isArray { scanner.advance() }
        scanner.skipWhitespace()
        let key = try self.key(in: isArray ? "an array-of-tables header [[…]]" : "a table header […]")
        let closing = isArray ? "]]" : "]"
        guard scanner.peek() == UInt8(ascii: "]"), !isArray || scanner.peek(1) == UInt8(ascii: "]") else {
            if isArray, scanner.peek() == UInt8(ascii: "]") { scanner.advance() }  // point past the one `]` there is
            let hint = scanner.atNewline || scanner.isAtEnd ? " (a table header must be on one line)" : ""
            throw scanner.error("expected `\(closing)` to close the header, found \(scanner.found)\(hint)")
        }
        scanner.advance(closing.count)
        current = isArray ? try builder.appendArrayTable(key) : try builder.defineTable(key)
    }

    /// `key = value` into `table`; answers the key for messages.
    @discardableResult
    private mutating func keyValue(into table: Int) throws -> [TOMLKeyPart] {
        let key = try self.key(in: "")
        guard scanner.peek() == UInt8(ascii: "=") else {
            throw scanner.error("expected `=` after the key `\(TOMLKeyPart.display(key))`, found \(scanner.found)")
        }
        scanner.advance()
        scanner.skipWhitespace()
        let value = try self.value(depth: builder.depth(of: table) + key.count, name: builder.qualified(table, key))
        try builder.insert(key, value, into: table)
        return key
    }

    /// A bare or quoted key, or several joined by dots; whitespace around the dots and after the key is skipped.
    private mutating func key(in context: String) throws -> [TOMLKeyPart] {
        var parts: [TOMLKeyPart] = []
        while true {
            let start = scanner.position
            let name: String
            guard let byte = scanner.peek() else {
                throw scanner.error("expected a key\(context.isEmpty ? "" : " in \(context)"), found the end of the file")
            }
            if TOMLKeyPart.isBare(byte) {
                var bytes: [UInt8] = []
                while let next = scanner.peek(), TOMLKeyPart.isBare(next) {
                    bytes.append(next)
                    scanner.advance()
                }
                name = String(decoding: bytes, as: UTF8.self)
            } else if byte == TOMLScanner.quote || byte == TOMLScanner.apostrophe {
                guard !scanner.atMultilineDelimiter(byte) else { throw scanner.error("a key cannot be a multi-line string") }
                name = try scanner.scanSingleLineString(escapes: byte == TOMLScanner.quote)
            } else {
                let hint = scanner.atNewline && !context.isEmpty ? " (a table header must be on one line)" : ""
                let bare = " (a key is letters, digits, `-` and `_`, or a quoted string)"
                throw scanner.error(
                    "expected a key\(context.isEmpty ? "" : " in \(context)"), found \(scanner.found)\(hint.isEmpty ? bare : hint)")
            }
            parts.append(TOMLKeyPart(name: name, line: start.line, column: start.column))
            guard parts.count <= TOMLDocumentBuilder.maxDepth else {
                throw scanner.error("a key of more than \(TOMLDocumentBuilder.maxDepth) dotted parts is too deep", at: start)
            }
            scanner.skipWhitespace()
            guard scanner.peek() == UInt8(ascii: ".") else { return parts }
            scanner.advance()
            scanner.skipWhitespace()
        }
    }

    /// Any value; `depth` is how deep an array or inline table starting here would be.
    /// `name` is the value's full key (empty inside arrays), for messages.
    private mutating func value(depth: Int, name: String) throws -> TOMLDocumentBuilder.Ref {
        let start = scanner.position
        guard let byte = scanner.peek() else {
            throw scanner.error("expected a value, found the end of the file")
        }
        switch byte {
        case TOMLScanner.quote, TOMLScanner.apostrophe:
            return .value(TOMLValue(kind: .string(try scanner.scanString()), line: start.line))
        case UInt8(ascii: "["):
            return try array(depth: depth)
        case UInt8(ascii: "{"):
            return try inlineTable(depth: depth, name: name)
        default:
            guard Self.isTokenByte(byte) else {
                let what = name.isEmpty ? "" : " for `\(name)`"
                throw scanner.error(
                    "expected a value\(what) (a string, number, true or false, date, array or inline table), found \(scanner.found)")
            }
            return .value(TOMLValue(kind: try bareValue(start), line: start.line))
        }
    }

    /// Booleans, numbers, dates and times: everything written without quotes or brackets.
    private mutating func bareValue(_ start: TOMLScanner.Position) throws -> TOMLValue.Kind {
        var token = readToken()
        // `1979-05-27 07:32:00`: a space may stand between the date and the time.
        if TOMLDateTimeParsing.looksLikeDate(token), token.count == 10, scanner.peek() == 0x20, let next = scanner.peek(1),
            (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(next)
        {
            scanner.advance()
            token.append(0x20)
            token += readToken()
        }
        do {
            if token.elementsEqual("true".utf8) { return .boolean(true) }
            if token.elementsEqual("false".utf8) { return .boolean(false) }
            if TOMLDateTimeParsing.looksLikeDateOrTime(token) { return try TOMLDateTimeParsing.parse(token) }
            if TOMLDateTimeParsing.looksLikeMalformedDateOrTime(token) { throw TOMLDateTimeParsing.malformed() }
            let startsWithLetter = token.first.map { Self.isLetterOrUnderscore($0) } ?? true
            if !startsWithLetter || token.elementsEqual("inf".utf8) || token.elementsEqual("nan".utf8) {
                return try TOMLNumber.parse(token)
            }
        } catch let refusal as TOMLValueRefusal {
            throw scanner.error(refusal.message, at: start)
        }
        // The text is not repeated: an unquoted value may be a token or a webhook URL pasted in place.
        throw scanner.error(
            "a value without quotes must be true, false, a number, a date or a time; write a string in quotes (\"…\")", at: start)
    }

    private mutating func readToken() -> [UInt8] {
        var token: [UInt8] = []
        while let byte = scanner.peek(), Self.isTokenByte(byte) {
            token.append(byte)
            scanner.advance()
        }
        return token
    }

    private static func isLetterOrUnderscore(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20) || byte == UInt8(ascii: "_")
    }

    /// Letters, digits and `_ + - . :`: the characters numbers, booleans and dates are made of.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        TOMLKeyPart.isBare(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":")
    }

    /// `[a, b, ]`: items may span lines, with comments between them, and a trailing comma.
    private mutating func array(depth: Int) throws -> TOMLDocumentBuilder.Ref {
        let start = scanner.position
        guard depth <= TOMLDocumentBuilder.maxDepth else { throw scanner.error(TOMLDocumentBuilder.tooDeep) }
        scanner.advance()
        var items: [TOMLDocumentBuilder.Ref] = []
        while true {
            try scanner.skipWhitespaceCommentsAndNewlines()
            if scanner.peek() == UInt8(ascii: "]") { break }
            guard !scanner.isAtEnd else { throw scanner.error("this array is never closed with `]`", at: start) }
            items.append(try value(depth: depth + 1, name: ""))
            try scanner.skipWhitespaceCommentsAndNewlines()
            if scanner.peek() == UInt8(ascii: ",") {
                scanner.advance()
            } else if scanner.peek() == UInt8(ascii: "]") {
                break
            } else if scanner.isAtEnd {
                throw scanner.error("this array is never closed with `]`", at: start)
            } else {
                throw scanner.error("expected `,` or `]` after an item of the array, found \(scanner.found)")
            }
        }
        scanner.advance()
        return builder.newArray(items, line: start.line, depth: depth)
    }

    /// `{ a = 1, b.c = 2 }`: on one line, no trailing comma (TOML 1.0); complete once closed.
    private mutating func inlineTable(depth: Int, name: String) throws -> TOMLDocumentBuilder.Ref {
        let start = scanner.position
        guard depth <= TOMLDocumentBuilder.maxDepth else { throw scanner.error(TOMLDocumentBuilder.tooDeep) }
        scanner.advance()
        let table = try builder.newTable(.inline, line: start.line, depth: depth, at: nil, name: name)
        scanner.skipWhitespace()
        if scanner.peek() == UInt8(ascii: "}") {
            scanner.advance()
            return .table(table)
        }
        while true {
            scanner.skipWhitespace()
            if scanner.peek() == UInt8(ascii: "}") {
                throw scanner.error("a comma cannot end an inline table (TOML 1.0)")
            }
            if scanner.atNewline || scanner.peek() == UInt8(ascii: "#") {
                throw scanner.error("an inline table { … } must be on one line (TOML 1.0)")
            }
            try keyValue(into: table)
            scanner.skipWhitespace()
            switch scanner.peek() {
            case UInt8(ascii: ","):
                scanner.advance()
            case UInt8(ascii: "}"):
                scanner.advance()
                return .table(table)
            case nil:
                throw scanner.error("this inline table is never closed with `}`", at: start)
            default:
                let hint = scanner.atNewline || scanner.peek() == UInt8(ascii: "#") ? " (an inline table must be on one line)" : ""
                throw scanner.error("expected `,` or `}` in the inline table, found \(scanner.found)\(hint)")
            }
        }
    }
}
