/// The tables of a document while it is parsed, and the rules of TOML 1.0 about defining them:
/// a key is set once; a table is defined by one header; dotted keys may only extend tables that
/// dotted keys made, in the section that made them; inline tables and arrays written with `=`
/// are complete and cannot be extended; `[[x]]` appends only to an array of tables.
///
/// Tables and arrays live in flat lists and refer to each other by index, so walking a path is
/// a loop, not recursion, and adding a key never copies a table. Depth is capped (``maxDepth``),
/// which also bounds the recursion of ``build()``.
struct TOMLDocumentBuilder {
    /// Tables, arrays and headers nested deeper than this are refused: no real config needs it,
    /// and a hostile file of `[[[[…` must not exhaust the stack.
    static let maxDepth = 128

    enum Ref {
        case table(Int)
        case array(Int)
        case value(TOMLValue)
    }

    /// How a table came to be, which decides what may still add to it.
    enum Origin {
        case root
        /// Defined by a `[header]` or as an element of `[[header]]`.
        case header
        /// Made on the way to a header (`[a.b]` makes `a`); a later `[a]` may still define it once.
        case implicit
        /// Made by a dotted key (`a.b = 1` makes `a`).
        case dotted
        /// Written `{ … }`: complete as written.
        case inline
    }

    struct Child {
        let ref: Ref
        let line: Int
    }

    struct Table {
        var origin: Origin
        var line: Int
        let depth: Int
        /// The full dotted name (`a.b`), for messages; empty for the root and for inline tables in arrays.
        var name = ""
        var keys: [String] = []
        var children: [String: Child] = [:]
    }

    struct ArrayNode {
        var items: [Ref]
        let ofTables: Bool
        let line: Int
        let depth: Int
    }

    private(set) var tables = [Table(origin: .root, line: 0, depth: 0)]
    private var arrays: [ArrayNode] = []
    static let root = 0

    func depth(of table: Int) -> Int { tables[table].depth }

    /// A new, empty table; `part` is the key that makes it, where a too-deep table is reported.
    mutating func newTable(_ origin: Origin, line: Int, depth: Int, at part: TOMLKeyPart?, name: String = "") throws -> Int {
        guard depth <= Self.maxDepth else {
            throw TOMLError(line: part?.line ?? line, column: part?.column ?? 1, message: Self.tooDeep)
        }
        tables.append(Table(origin: origin, line: line, depth: depth, name: name))
        return tables.count - 1
    }

    /// An array written with `=`; its items were already checked against the depth limit by the parser.
    mutating func newArray(_ items: [Ref], line: Int, depth: Int) -> Ref {
        arrays.append(ArrayNode(items: items, ofTables: false, line: line, depth: depth))
        return .array(arrays.count - 1)
    }

    static let tooDeep = "nested too deeply: more than \(maxDepth) levels of tables and arrays"

    /// `a.b.c = value` in `table`: `a` and `b` are made (or must have been made by dotted keys), `c` must be new.
    mutating func insert(_ key: [TOMLKeyPart], _ value: Ref, into start: Int) throws {
        var table = start
        for (index, part) in key.dropLast().enumerated() {
            let path = qualified(start, key.prefix(index + 1))
            if let child = tables[table].children[part.name] {
                guard case .table(let next) = child.ref, tables[next].origin == .dotted else {
                    throw failure(part, cannotExtend(path, child, by: "a dotted key"))
                }
                table = next
            } else {
                let next = try newTable(.dotted, line: part.line, depth: tables[table].depth + 1, at: part)
                add(part, .table(next), to: table)
                table = next
            }
        }
        guard let last = key.last else { return }
        if let existing = tables[table].children[last.name] {
            throw failure(last, "`\(qualified(start, key))` is already defined at line \(existing.line)")
        }
        add(last, value, to: table)
    }

    /// `[a.b]`: answers the table that the following keys go into.
    mutating func defineTable(_ key: [TOMLKeyPart]) throws -> Int {
        guard let last = key.last else { throw TOMLError(line: 1, column: 1, message: "a table header needs a key") }
        let parent = try walkHeader(key.dropLast())
        guard let child = tables[parent].children[last.name] else {
            let table = try newTable(.header, line: last.line, depth: tables[parent].depth + 1, at: last)
            add(last, .table(table), to: parent)
            return table
        }
        let name = TOMLKeyPart.display(key)
        guard case .table(let table) = child.ref else {
            if case .array(let array) = child.ref, arrays[array].ofTables {
                throw failure(last, "`\(name)` is an array of tables (line \(child.line)): add to it with [[\(name)]], not [\(name)]")
            }
            throw failure(last, "`\(name)` is already defined at line \(child.line) as a value, so [\(name)] cannot define it as a table")
        }
        switch tables[table].origin {
        case .implicit:
            tables[table].origin = .header
            tables[table].line = last.line
            return table
        case .header, .root:
            throw failure(last, "the table [\(name)] is already defined at line \(tables[table].line); a table is defined once")
        case .dotted:
            throw failure(
                last, "the table `\(name)` is already defined by dotted keys at line \(child.line), so [\(name)] cannot define it again")
        case .inline:
            throw failure(last, "`\(name)` is an inline table (line \(child.line)), which is complete as written")
        }
    }

    /// `[[a.b]]`: appends a table to the array of tables `a.b` (made if new) and answers it.
    mutating func appendArrayTable(_ key: [TOMLKeyPart]) throws -> Int {
        guard let last = key.last else { throw TOMLError(line: 1, column: 1, message: "a table header needs a key") }
        let parent = try walkHeader(key.dropLast())
        let name = TOMLKeyPart.display(key)
        guard let child = tables[parent].children[last.name] else {
            let depth = tables[parent].depth + 1
            let table = try newTable(.header, line: last.line, depth: depth + 1, at: last, name: name)
            arrays.append(ArrayNode(items: [.table(table)], ofTables: true, line: last.line, depth: depth))
            add(last, .array(arrays.count - 1), to: parent)
            return table
        }
        guard case .array(let array) = child.ref, arrays[array].ofTables else {
            if case .array = child.ref {
                throw failure(last, "`\(name)` is an array written with `=` at line \(child.line); [[\(name)]] cannot add to it")
            }
            throw failure(last, "`\(name)` is already defined at line \(child.line) and is not an array of tables")
        }
        let table = try newTable(.header, line: last.line, depth: arrays[array].depth + 1, at: last, name: name)
        arrays[array].items.append(.table(table))
        return table
    }

    /// The table a header's leading parts lead to, making the missing ones; an array of tables
    /// leads to its last element, as TOML says.
    private mutating func walkHeader(_ parts: ArraySlice<TOMLKeyPart>) throws -> Int {
        var table = Self.root
        for (index, part) in parts.enumerated() {
            let path = TOMLKeyPart.display(parts.prefix(index + 1))
            guard let child = tables[table].children[part.name] else {
                let next = try newTable(.implicit, line: part.line, depth: tables[table].depth + 1, at: part)
                add(part, .table(next), to: table)
                table = next
                continue
            }
            switch child.ref {
            case .table(let next) where tables[next].origin != .inline:
                table = next
            case .array(let array) where arrays[array].ofTables:
                guard case .table(let next)? = arrays[array].items.last else {
                    throw failure(part, cannotExtend(path, child, by: "a table header"))
                }
                table = next
            default:
                throw failure(part, cannotExtend(path, child, by: "a table header"))
            }
        }
        return table
    }

    private func cannotExtend(_ name: String, _ child: Child, by what: String) -> String {
        switch child.ref {
        case .value(let value):
            return "`\(name)` is already \(value.typeNameWithArticle) (line \(child.line)), so \(what) cannot make it a table"
        case .array(let array) where arrays[array].ofTables:
            return "`\(name)` is an array of tables (line \(child.line)); \(what) cannot add to it"
        case .array:
            return "`\(name)` is an array written with `=` (line \(child.line)), which is complete as written"
        case .table(let table):
            switch tables[table].origin {
            case .inline: return "`\(name)` is an inline table (line \(child.line)), which is complete as written"
            default:
                return "the table `\(name)` is defined by a [header] (line \(child.line)); \(what) cannot add to it from elsewhere"
            }
        }
    }

    /// `parts` written inside `table`, named from the root: `b.c` in `[a]` is `a.b.c`.
    func qualified(_ table: Int, _ parts: some Collection<TOMLKeyPart>) -> String {
        let relative = TOMLKeyPart.display(parts)
        return tables[table].name.isEmpty ? relative : tables[table].name + "." + relative
    }

    private mutating func add(_ part: TOMLKeyPart, _ ref: Ref, to table: Int) {
        if case .table(let child) = ref, tables[child].name.isEmpty {
            tables[child].name = qualified(table, [part])
        }
        tables[table].keys.append(part.name)
        tables[table].children[part.name] = Child(ref: ref, line: part.line)
    }

    private func failure(_ part: TOMLKeyPart, _ message: String) -> TOMLError {
        TOMLError(line: part.line, column: part.column, message: message)
    }

    /// The finished document as values. Recursion here is bounded by ``maxDepth``.
    func build() -> TOMLTable { table(Self.root) }

    private func table(_ index: Int) -> TOMLTable {
        var result = TOMLTable(line: tables[index].line)
        for key in tables[index].keys {
            guard let child = tables[index].children[key] else { continue }
            result.append(key, value(child.ref, line: child.line), line: child.line)
        }
        return result
    }

    private func value(_ ref: Ref, line: Int) -> TOMLValue {
        switch ref {
        case .value(let value): value
        case .table(let index): TOMLValue(kind: .table(table(index)), line: tables[index].line)
        case .array(let index): TOMLValue(kind: .array(arrays[index].items.map { value($0, line: line) }), line: arrays[index].line)
        }
    }
}
