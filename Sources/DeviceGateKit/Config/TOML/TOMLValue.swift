/// One value of a parsed TOML document, with the line it starts on, so that a config mistake
/// found after parsing (an unknown key, a wrong type) can still name its line.
struct TOMLValue: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case string(String)
        case integer(Int64)
        case float(Double)
        case boolean(Bool)
        /// An offset date-time, or a local one when its `offsetMinutes` is nil.
        case dateTime(TOMLDateTime)
        case date(TOMLDate)
        case time(TOMLTime)
        case array([TOMLValue])
        case table(TOMLTable)
    }

    let kind: Kind
    /// 1-based line where the value starts; for a table, the line of its header or first key.
    let line: Int

    var string: String? {
        if case .string(let value) = kind { return value }
        return nil
    }

    /// The integer as an `Int`; nil for every other kind (a float is never rounded into one).
    var int: Int? {
        if case .integer(let value) = kind { return Int(exactly: value) }
        return nil
    }

    var bool: Bool? {
        if case .boolean(let value) = kind { return value }
        return nil
    }

    var array: [TOMLValue]? {
        if case .array(let items) = kind { return items }
        return nil
    }

    var table: TOMLTable? {
        if case .table(let table) = kind { return table }
        return nil
    }

    /// "an integer", "a string": for messages.
    var typeNameWithArticle: String {
        (["a", "e", "i", "o", "u"].contains(typeName.prefix(1)) ? "an " : "a ") + typeName
    }

    /// The kind's name as a person reads it in an error message.
    var typeName: String {
        switch kind {
        case .string: "string"
        case .integer: "integer"
        case .float: "floating-point number"
        case .boolean: "boolean"
        case .dateTime: "date-time"
        case .date: "date"
        case .time: "time"
        case .array: "array"
        case .table: "table"
        }
    }
}
