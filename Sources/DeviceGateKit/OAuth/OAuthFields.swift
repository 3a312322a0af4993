#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A flat, encoding-independent view of what an OAuth endpoint answered.
///
/// Providers disagree on the wire: GitHub answers form-encoded unless asked for JSON, some send
/// numbers as strings. Reading every answer through this type means each of those differences is
/// handled once, in ``Quirks``, instead of in every caller.
public struct OAuthFields: Sendable, CustomStringConvertible {
    public enum Value: Sendable, Equatable {
        case string(String)
        case number(Double)
        case bool(Bool)
        case list([Value])
        case object
        case null
    }

    public let values: [String: Value]

    public init(_ values: [String: Value]) { self.values = values }

    /// Parses a JSON object or a form body, by Content-Type (``Quirks/decodeBody(_:)``).
    public static func parse(_ response: IncomingResponse) -> OAuthFields? {
        Quirks.decodeBody(response)
    }

    public static func parseJSON(_ data: Data) -> OAuthFields? {
        guard case .object(let object)? = try? JSONDecoder().decode(JSONValue.self, from: data) else { return nil }
        return OAuthFields(object.mapValues(\.fieldValue))
    }

    public func string(_ key: String) -> String? {
        switch values[key] {
        case .string(let s): s
        // Whole numbers as integers; beyond Int64 (1e300 as an access_token) as written by Swift.
        case .number(let n): Int64(exactly: n).map(String.init) ?? String(n)
        case .bool(let b): String(b)
        default: nil
        }
    }

    /// A whole number, also when the provider sent it as a string (``Quirks/integer(_:)``).
    public func int(_ key: String) -> Int? { values[key].flatMap(Quirks.integer) }

    public func stringList(_ key: String) -> [String]? {
        guard case .list(let items) = values[key] else { return nil }
        return items.compactMap { if case .string(let s) = $0 { s } else { nil } }
    }

    public func has(_ key: String) -> Bool {
        if case .some(.null) = values[key] { return false }
        return values[key] != nil
    }

    /// Keys only: values may be tokens.
    public var description: String { "OAuthFields(\(values.keys.sorted().joined(separator: ", ")))" }
}

extension JSONValue {
    var fieldValue: OAuthFields.Value {
        switch self {
        case .string(let s): .string(s)
        case .int(let n): .number(Double(n))
        case .double(let n): .number(n)
        case .bool(let b): .bool(b)
        case .array(let items): .list(items.map(\.fieldValue))
        case .object: .object
        case .null: .null
        }
    }
}
