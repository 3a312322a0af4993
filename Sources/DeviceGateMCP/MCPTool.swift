import DeviceGateKit

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One tool the server offers. Its definition (name, description, input schema) is fixed when the
/// server starts, from the configuration, so the description can state the policy in words.
public protocol MCPTool: Sendable {
    var name: String { get }
    /// The `Tool` object of `tools/list`.
    var definition: JSONValue { get }
    /// Runs the tool. Never throws: what goes wrong is a result with `isError`, which the model
    /// sees and can explain, while protocol errors are the server's business.
    func call(_ arguments: ToolArguments, caller: MCPServer.Caller) async -> ToolResult
}

/// What a tool returns: text for the model, the same facts as structured content, and whether it
/// is an error the model should explain.
public struct ToolResult: Sendable {
    /// What the model reads (`content`, one text block).
    public var text: String
    /// The same facts for programs (`structuredContent`).
    public var structured: [String: JSONValue]
    /// The tool ran and failed or refused (`isError`): the model should explain it, not retry blindly.
    public var isError: Bool

    public init(text: String, structured: [String: JSONValue], isError: Bool = false) {
        self.text = text
        self.structured = structured
        self.isError = isError
    }

    /// A refusal or failure the model should see: `error` is a stable code, `reason` the words.
    public static func failure(_ error: String, _ reason: String, extra: [String: JSONValue] = [:]) -> ToolResult {
        ToolResult(
            text: "\(error): \(reason)",
            structured: extra.merging(["error": .string(error), "reason": .string(reason)]) { _, new in new }, isError: true)
    }

    var json: [String: JSONValue] {
        var result: [String: JSONValue] = [
            "content": [["type": "text", "text": .string(text)]], "structuredContent": .object(structured),
        ]
        if isError { result["isError"] = true }
        return result
    }
}

/// A tool's arguments, read one by one: each is checked for its type, and a wrong one is named
/// in the error so the model can correct the call.
public struct ToolArguments: Sendable {
    let values: [String: JSONValue]

    /// - Parameter values: `params.arguments` as the client sent it.
    public init(_ values: [String: JSONValue]) { self.values = values }

    /// A wrong argument, named so that the model can correct the call.
    public struct Invalid: Error, Sendable {
        public let message: String
    }

    /// Refuses names no schema declares: a misspelt optional argument must not be ignored silently.
    public func only(_ names: Set<String>) throws(Invalid) {
        if let unknown = values.keys.sorted().first(where: { !names.contains($0) }) {
            throw Invalid(
                message: "unknown argument `\(String(unknown.prefix(64)))`; this tool takes \(names.sorted().joined(separator: ", "))")
        }
    }

    /// A required string.
    public func string(_ name: String) throws(Invalid) -> String {
        guard let value = try optionalString(name) else { throw Invalid(message: "`\(name)` is required (a string)") }
        return value
    }

    /// A string, or nil when absent or null.
    public func optionalString(_ name: String) throws(Invalid) -> String? {
        switch values[name] {
        case nil, .null?: return nil
        case .string(let value)?: return value
        default: throw Invalid(message: "`\(name)` must be a string")
        }
    }

    /// A whole number from 0 to Int32.max (an integral JSON double counts), or nil.
    public func optionalInt(_ name: String) throws(Invalid) -> Int? {
        switch values[name] {
        case nil, .null?: return nil
        case let value?:
            guard let number = value.int, number >= 0, number <= Int64(Int32.max) else {
                throw Invalid(message: "`\(name)` must be a whole number from 0 to \(Int32.max)")
            }
            return Int(number)
        }
    }

    /// An object whose every value is a string (headers), or nil.
    public func optionalStrings(_ name: String) throws(Invalid) -> [String: String]? {
        switch values[name] {
        case nil, .null?: return nil
        case .object(let fields)?:
            var out: [String: String] = [:]
            for (key, value) in fields {
                guard let text = value.string else { throw Invalid(message: "`\(name).\(String(key.prefix(64)))` must be a string") }
                out[key] = text
            }
            return out
        default: throw Invalid(message: "`\(name)` must be an object of strings")
        }
    }
}
