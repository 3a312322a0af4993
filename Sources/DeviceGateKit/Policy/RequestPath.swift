import Foundation

/// A request path reduced to segments that cannot mean two things.
///
/// A policy is only as strong as the agreement between how the gateway reads a path and how the
/// upstream does. So instead of guessing how a server would resolve `..`, `%2e%2e`, `%2f`,
/// `//` or an overlong UTF-8 sequence, any path in which such a difference is possible is
/// refused outright; what remains is matched segment by segment and forwarded byte for byte.
public struct RequestPath: Sendable, Equatable {
    /// Percent-decoded segments, none empty, none `.` or `..`.
    public let segments: [String]
    /// The path exactly as the agent sent it (after the profile prefix), to forward unchanged.
    public let raw: String

    public enum Rejection: Error, Sendable, Equatable, CustomStringConvertible {
        case notOriginForm
        case dotSegment
        case emptySegment
        case badEncoding
        case encodedSeparator
        case controlCharacter

        public var description: String {
            switch self {
            case .notOriginForm: "the request target must be a path starting with /"
            case .dotSegment: "the path contains a . or .. segment (possibly percent-encoded)"
            case .emptySegment: "the path contains an empty segment (//)"
            case .badEncoding: "the path has malformed, double or overlong percent-encoding"
            case .encodedSeparator: "the path contains an encoded / or \\"
            case .controlCharacter: "the path contains control characters or backslashes"
            }
        }
    }

    /// - Parameter raw: the path part of an origin-form request target, without the query.
    public init(_ raw: String) throws(Rejection) {
        guard raw.hasPrefix("/") else { throw .notOriginForm }
        self.raw = raw
        var parts = raw.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if parts.last == "" { parts.removeLast() }  // one trailing slash is fine
        var segments: [String] = []
        for part in parts {
            guard !part.isEmpty else { throw .emptySegment }
            guard part.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F && $0 != "\\" }) else { throw .controlCharacter }
            let decoded = try Self.percentDecode(part)
            guard decoded != ".", decoded != ".." else { throw .dotSegment }
            guard !decoded.contains("/"), !decoded.contains("\\") else { throw .encodedSeparator }
            guard !decoded.contains("%") else { throw .badEncoding }  // %25 → double encoding
            guard decoded.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else { throw .controlCharacter }
            segments.append(decoded)
        }
        self.segments = segments
    }

    /// Strict RFC 3986 decoding: `%` must be followed by two hex digits, and the result must be
    /// valid UTF-8 (which rules out overlong forms such as `%c0%ae`).
    static func percentDecode(_ s: String) throws(Rejection) -> String {
        guard s.contains("%") else { return s }
        var bytes: [UInt8] = []
        var iterator = Array(s.utf8).makeIterator()
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
