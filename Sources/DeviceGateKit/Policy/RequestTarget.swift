#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// An agent's origin-form request target, `/PROFILE/path?query`, split and checked.
///
/// The profile name is the first segment, compared byte for byte with configured names; the
/// rest is a ``RequestPath``; the query is passed on as sent once it holds nothing that could
/// end it early (`#`, spaces, control bytes) or override the method the policy checked.
public struct RequestTarget: Sendable, Equatable {
    public let profile: String
    public let path: RequestPath
    /// The query without its `?`, exactly as sent; nil when there was none.
    public let query: String?

    public enum Rejection: Error, Sendable, Equatable, CustomStringConvertible {
        case path(RequestPath.Rejection)
        case queryCharacter
        case methodOverride(String)

        public var description: String {
            switch self {
            case .path(let rejection): rejection.description
            case .queryCharacter:
                "the query contains a character RFC 3986 does not allow there (#, space, \", <, >, [, ], {, }, |, \\, ^, `, a control or non-ASCII byte); percent-encode it"
            case .methodOverride(let name):
                "the query parameter \(name) would override the HTTP method the policy checked; send the real method instead"
            }
        }
    }

    /// Splits only the profile name off, for routing before the rest is judged.
    public static func profileName(of target: String) -> String {
        let path = target.utf8.prefix { $0 != UInt8(ascii: "?") }.dropFirst()
        return String(decoding: path.prefix { $0 != UInt8(ascii: "/") }, as: UTF8.self)
    }

    /// - Parameter target: an origin-form request target, starting with `/`.
    public init(_ target: String) throws(Rejection) {
        guard target.hasPrefix("/") else { throw .path(.notOriginForm) }
        let utf8 = target.utf8
        let mark = utf8.firstIndex(of: UInt8(ascii: "?"))
        let pathPart = Substring(target.utf8[..<(mark ?? utf8.endIndex)])
        profile = Self.profileName(of: target)
        let rest = pathPart.dropFirst(1 + profile.utf8.count)
        do { path = try RequestPath(rest.isEmpty ? "/" : String(rest)) } catch { throw .path(error) }
        if let mark {
            let query = Substring(utf8[utf8.index(after: mark)...])
            guard query.utf8.allSatisfy({ $0 < 0x80 && Self.queryBytes[Int($0)] }) else { throw .queryCharacter }
            if let name = Self.overrideParameter(in: query) { throw .methodOverride(name) }
            self.query = String(query)
        } else {
            self.query = nil
        }
    }

    /// RFC 3986 `query`: `pchar`, `/` and `?`, with `%` for encodings.
    static let queryBytes: [Bool] = (0..<128).map { byte in
        let scalar = Character(Unicode.Scalar(UInt8(byte)))
        return scalar.isASCII && (scalar.isLetter || scalar.isNumber || "-._~!$&'()*+,;=:@/?%".contains(scalar))
    }

    /// Frameworks that read the method from the query (Symfony, Laravel: `_method`) or from
    /// parameters named like the override headers.
    static let overrideNames: Set<String> = ["_method", "x-http-method-override", "x-http-method", "x-method-override"]

    static func overrideParameter(in query: Substring) -> String? {
        for pair in query.split(separator: "&") {
            let rawName = pair.prefix { $0 != "=" }
            let name = (PercentEncoding.decode(rawName.replacing("+", with: " ")) ?? String(rawName))
                .trimmingWhitespace().lowercased()
            if overrideNames.contains(name) { return name }
        }
        return nil
    }
}
