#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A request path reduced to segments that cannot mean two things.
///
/// A policy is only as strong as the agreement between how the gateway reads a path and how the
/// upstream does. So instead of guessing how a server would resolve `..`, `%2e%2e`, `..;`,
/// `%2f`, `//`, a raw `#` or an overlong UTF-8 sequence, any path in which such a difference is
/// possible is refused outright. What remains is matched segment by segment, and the upstream is
/// sent ``encoded``, which is rebuilt from those same segments (never the agent's bytes), so the
/// path the upstream decodes is the path the policy matched.
public struct RequestPath: Sendable, Equatable {
    /// Percent-decoded segments, none empty, none a dot segment (even behind `;` parameters).
    public let segments: [String]
    /// Whether the agent's path ended in `/` (kept: `/items/` and `/items` can differ upstream).
    public let trailingSlash: Bool
    /// The path exactly as the agent sent it (after the profile prefix), for messages only.
    public let raw: String

    public enum Rejection: Error, Sendable, Equatable, CustomStringConvertible {
        case notOriginForm
        case dotSegment
        case emptySegment
        case badEncoding
        case encodedSeparator
        case controlCharacter
        case delimiter

        public var description: String {
            switch self {
            case .notOriginForm: "the request target must be a path starting with /"
            case .dotSegment: "the path contains a . or .. segment (possibly percent-encoded or followed by ;parameters)"
            case .emptySegment: "the path contains an empty segment (// or /;…)"
            case .badEncoding: "the path has malformed, double or overlong percent-encoding"
            case .encodedSeparator: "the path contains an encoded / or \\"
            case .controlCharacter: "the path contains control characters or backslashes"
            case .delimiter:
                "the path contains a character that must be percent-encoded (#, space, \", <, >, [, ], {, }, |, ^, ` or a non-ASCII byte)"
            }
        }
    }

    /// - Parameter raw: the path part of an origin-form request target, without the query.
    public init(_ raw: String) throws(Rejection) {
        guard raw.hasPrefix("/") else { throw .notOriginForm }
        self.raw = raw
        var parts = raw.utf8.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
        trailingSlash = parts.count > 1 && parts.last?.isEmpty == true
        if parts.last?.isEmpty == true { parts.removeLast() }  // one trailing slash is fine
        var segments: [String] = []
        segments.reserveCapacity(parts.count)
        for part in parts {
            guard !part.isEmpty else { throw .emptySegment }
            for byte in part {
                switch Self.byteClass[Int(byte)] {
                case .allowed: continue
                case .control: throw .controlCharacter
                case .delimiter: throw .delimiter
                }
            }
            let decoded = try Self.percentDecode(part)
            try Self.check(decoded)
            segments.append(decoded)
        }
        self.segments = segments
    }

    /// What a decoded segment must not be, as any server on the way might read it.
    static func check(_ decoded: String) throws(Rejection) {
        guard !decoded.contains("/"), !decoded.contains("\\") else { throw .encodedSeparator }
        guard !decoded.contains("%") else { throw .badEncoding }  // %25 → double encoding
        guard decoded.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F && !(0x80...0x9F).contains($0.value) })
        else { throw .controlCharacter }
        // Tomcat, Jetty and Spring cut `;parameters` off a segment before resolving dots, and
        // IIS and Windows drop trailing dots and spaces: `..;x`, `.. ` and `...` are all `..`
        // to someone.
        let beforeParameters = decoded.prefix { $0 != ";" }
        guard !beforeParameters.isEmpty else { throw .emptySegment }
        if beforeParameters.allSatisfy({ $0 == "." || $0 == " " }) { throw .dotSegment }
        // Servers that apply Unicode compatibility normalisation (NFKC) turn fullwidth dots and
        // slashes (U+FF0E, U+FF0F, U+FF3C) and their kin into the ASCII ones.
        if decoded.unicodeScalars.contains(where: { $0.value > 0x7F }) {
            let folded = CompatibilityFolding.folded(decoded)
            guard !folded.contains("/"), !folded.contains("\\") else { throw .encodedSeparator }
            let foldedBase = folded.prefix { $0 != ";" }
            if foldedBase.isEmpty || foldedBase.allSatisfy({ $0 == "." || $0 == " " }) { throw .dotSegment }
        }
    }

    /// The path to send upstream: each segment percent-encoded afresh, so that every reserved
    /// character (`#`, `?`, `;`, `%`, `+`, …) inside a segment stays data and nothing the agent
    /// sent can become a delimiter.
    public var encoded: String {
        var out = "/"
        for (index, segment) in segments.enumerated() {
            if index > 0 { out += "/" }
            out += Self.encode(segment)
        }
        if trailingSlash, !segments.isEmpty { out += "/" }
        return out
    }

    /// RFC 3986 `pchar` minus `;` and `+` (which some servers read as parameters or spaces).
    static func encode(_ segment: String) -> String {
        var out = [UInt8]()
        out.reserveCapacity(segment.utf8.count)
        for byte in segment.utf8 {
            if byte < 0x80, Self.verbatim[Int(byte)] {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(Self.hexDigits[Int(byte >> 4)])
                out.append(Self.hexDigits[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static let hexDigits = Array("0123456789ABCDEF".utf8)

    static let verbatim: [Bool] = (0..<128).map { byte in
        let scalar = Character(Unicode.Scalar(UInt8(byte)))
        return scalar.isASCII && (scalar.isLetter || scalar.isNumber || "-._~!$&'()*,=:@".contains(scalar))
    }

    enum ByteClass { case allowed, control, delimiter }

    /// How each raw byte of an agent's path is treated: RFC 3986 `pchar` and `%` are allowed;
    /// control characters and `\` are refused as such; everything else (`#`, `?`, space, `"`,
    /// `<`, `>`, `[`, `]`, `{`, `}`, `|`, `^`, `` ` ``, non-ASCII) is a delimiter or must be
    /// percent-encoded, and is refused rather than guessed at.
    static let byteClass: [ByteClass] = (0..<256).map { byte in
        if byte < 0x20 || byte == 0x7F || byte == 0x5C { return .control }
        if byte >= 0x80 { return .delimiter }
        let scalar = Character(Unicode.Scalar(UInt8(byte)))
        if scalar.isLetter || scalar.isNumber || "-._~!$&'()*+,;=:@%".contains(scalar) { return .allowed }
        return .delimiter
    }

    /// Strict RFC 3986 decoding: `%` must be followed by two hex digits, and the result must be
    /// valid UTF-8 (which rules out overlong forms such as `%c0%ae`).
    static func percentDecode(_ bytes: Substring.UTF8View.SubSequence) throws(Rejection) -> String {
        try percentDecode(Array(bytes))
    }

    static func percentDecode(_ input: [UInt8]) throws(Rejection) -> String {
        guard input.contains(UInt8(ascii: "%")) else {
            guard let text = String(validating: input, as: UTF8.self) else { throw .badEncoding }
            return text
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(input.count)
        var iterator = input.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(Self.hex), let low = iterator.next().flatMap(Self.hex) else { throw .badEncoding }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(byte)
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw .badEncoding }
        return text
    }

    static func hex(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
