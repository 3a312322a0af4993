/// A TOML table: its keys in document order, their values, and the line of each key.
struct TOMLTable: Sendable, Equatable {
    /// The line of the table's header, or of the key that first made it; 0 for the root.
    let line: Int
    /// In the order they appear in the document, so the first mistake in the file is reported first.
    private(set) var keys: [String] = []
    private var values: [String: TOMLValue] = [:]
    private var keyLines: [String: Int] = [:]

    init(line: Int) { self.line = line }

    subscript(key: String) -> TOMLValue? { values[key] }

    /// The line where `key` is written (for a dotted key or a header, where it is first named).
    func line(of key: String) -> Int? { keyLines[key] }

    /// Adds a key the table does not hold yet; the parser has already refused duplicates.
    mutating func append(_ key: String, _ value: TOMLValue, line: Int) {
        guard values[key] == nil else { return }
        keys.append(key)
        values[key] = value
        keyLines[key] = line
    }
}
