/// Trimming without Foundation's `CharacterSet` (which would link Foundation's
/// internationalisation data into the binary): the same sets, by Unicode scalar.
extension StringProtocol {
    /// What `trimmingCharacters(in: .whitespaces)` removed: Unicode's white space less the line
    /// breaks (tab, space, no-break space and the other space separators).
    public func trimmingWhitespace() -> String { trimming { $0.properties.isWhitespace && !Self.isLineBreak($0) } }

    /// What `trimmingCharacters(in: .whitespacesAndNewlines)` removed: all of Unicode's white
    /// space, line breaks included.
    public func trimmingWhitespaceAndNewlines() -> String { trimming { $0.properties.isWhitespace } }

    /// The text without the leading and trailing scalars `drop` accepts.
    public func trimming(_ drop: (Unicode.Scalar) -> Bool) -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !drop($0) }) else { return "" }
        let last = scalars.lastIndex(where: { !drop($0) })!
        return String(String.UnicodeScalarView(scalars[first...last]))
    }

    private static func isLineBreak(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x0A...0x0D, 0x85, 0x2028, 0x2029: true
        default: false
        }
    }
}
