/// One part of a (possibly dotted) key as written, with where it was written, for error messages.
struct TOMLKeyPart: Sendable {
    let name: String
    let line: Int
    let column: Int

    /// Bare keys: ASCII letters, digits, `-` and `_`.
    static func isBare(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default: false
        }
    }

    /// The key as it would be written back: bare when it can be, quoted (with escapes) otherwise,
    /// so a key holding control characters cannot reach a terminal raw through an error message.
    static func display(_ parts: some Collection<TOMLKeyPart>) -> String {
        parts.map { part in
            !part.name.isEmpty && part.name.utf8.allSatisfy(isBare) ? part.name : String(reflecting: part.name)
        }.joined(separator: ".")
    }
}
