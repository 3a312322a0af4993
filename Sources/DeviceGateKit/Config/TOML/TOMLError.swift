/// Why a TOML document was refused, and where: the parser reports every mistake as a value
/// instead of trapping, so a damaged config file ends in a configuration error, never a crash.
struct TOMLError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 1-based line of the mistake.
    let line: Int
    /// 1-based column, counted in characters (Unicode scalars), not bytes.
    let column: Int
    let message: String

    var description: String { "line \(line), column \(column): \(message)" }
}

/// Why a value's text (a number, a date) is not valid; the parser adds the line and column.
struct TOMLValueRefusal: Error {
    let message: String
}
