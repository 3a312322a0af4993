/// Percent-encoding of UTF-8 bytes (RFC 3986), without Foundation's `CharacterSet`: a byte is
/// kept when it is an ASCII character `keeps` accepts, and every other byte, non-ASCII ones
/// included, becomes `%XX` (upper-case hex), as Foundation's `addingPercentEncoding` did.
public enum PercentEncoding {
    /// RFC 3986 unreserved: ASCII letters, digits and `-._~`.
    public static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default: false
        }
    }

    public static func encode(_ text: some StringProtocol, keeping keeps: (UInt8) -> Bool = isUnreserved) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out = [UInt8]()
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if byte < 0x80 && keeps(byte) {
                out.append(byte)
            } else {
                out += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes `%XX` escapes; nil, as Foundation's `removingPercentEncoding`, when an escape is
    /// malformed or the bytes are not UTF-8. Like it, drops one leading byte order mark.
    public static func decode(_ text: some StringProtocol) -> String? {
        var out = [UInt8]()
        var bytes = text.utf8.makeIterator()
        while let byte = bytes.next() {
            guard byte == UInt8(ascii: "%") else {
                out.append(byte)
                continue
            }
            guard let high = bytes.next().flatMap(RequestPath.hex), let low = bytes.next().flatMap(RequestPath.hex) else { return nil }
            out.append(high << 4 | low)
        }
        if out.starts(with: [0xEF, 0xBB, 0xBF]) { out.removeFirst(3) }
        return String(validating: out, as: UTF8.self)
    }
}
