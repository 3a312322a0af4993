#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension String {
    /// printf-style formatting of numbers (`%02d`, `%.1f`) by the C library's `vsnprintf`:
    /// the same output as Foundation's `String(format:)` for these, without linking Foundation.
    /// Only numeric conversions; `%@` and `%s` are not supported.
    public init(printf format: String, _ arguments: any CVarArg...) {
        var size = 64
        while true {
            var buffer = [CChar](repeating: 0, count: size)
            let needed = withVaList(arguments) { vsnprintf(&buffer, size, format, $0) }
            if needed < 0 {
                self = ""
                return
            }
            if Int(needed) < size {
                self = String(decoding: buffer.prefix(Int(needed)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
                return
            }
            size = Int(needed) + 1
        }
    }
}
