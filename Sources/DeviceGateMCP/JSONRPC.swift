import DeviceGateKit

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A JSON-RPC 2.0 error as MCP uses it. Protocol errors (a message that is not one, a method or
/// tool that does not exist) are these; a tool that ran and failed is a result with `isError`.
struct RPCError: Error, Sendable, Equatable {
    let code: Int
    let message: String
    var data: JSONValue?

    init(_ code: Int, _ message: String, data: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    static let parseError = -32700
    static let invalidRequest = -32600
    static let methodNotFound = -32601
    static let invalidParams = -32602
    static let internalError = -32603
    /// MCP 2026-07-28: the HTTP headers disagree with the body, or a required one is missing.
    static let headerMismatch = -32020
    /// MCP 2026-07-28: the request's protocol version is not one the server speaks.
    static let unsupportedProtocolVersion = -32022

    /// The HTTP status the streamable HTTP transport sends with this error (the spec's table;
    /// anything else travels in a 200).
    var httpStatus: Int {
        switch code {
        case Self.parseError, Self.invalidRequest, Self.invalidParams, Self.headerMismatch, Self.unsupportedProtocolVersion: 400
        case Self.methodNotFound: 404
        default: 200
        }
    }

    var json: JSONValue {
        var object: [String: JSONValue] = ["code": .int(Int64(code)), "message": .string(message)]
        if let data { object["data"] = data }
        return .object(object)
    }
}

/// One message received from a client, classified. Anything that is not a well-formed request or
/// notification is refused here, before any method sees it.
enum RPCMessage: Sendable {
    /// A request: answered exactly once, with its `id` as sent.
    case request(id: JSONValue, method: String, params: [String: JSONValue])
    /// A notification: never answered.
    case notification(method: String)
    /// A response to a request of ours. This server sends none, so it is dropped.
    case response
    /// Not a message: answered with this error (and `id` when one could be read).
    case invalid(id: JSONValue, RPCError)

    static func classify(_ data: Data) -> RPCMessage {
        guard let value = JSONValue.parse(data) else {
            return .invalid(id: .null, RPCError(RPCError.parseError, "Parse error: the message is not valid JSON"))
        }
        guard case .object(let object) = value else {
            let what = if case .array = value { "batches are not supported; send one JSON-RPC object per message" } else { "not an object" }
            return .invalid(id: .null, RPCError(RPCError.invalidRequest, "Invalid Request: \(what)"))
        }
        var id = JSONValue.null
        if let raw = object["id"] {
            switch raw {
            case .string: id = raw
            case .int: id = raw
            default:
                return .invalid(id: .null, RPCError(RPCError.invalidRequest, "Invalid Request: `id` must be a string or an integer"))
            }
        }
        guard object["jsonrpc"] == .string("2.0") else {
            return .invalid(id: id, RPCError(RPCError.invalidRequest, "Invalid Request: `jsonrpc` must be \"2.0\""))
        }
        guard let methodValue = object["method"] else {
            if object["id"] != nil, object["result"] != nil || object["error"] != nil { return .response }
            return .invalid(id: id, RPCError(RPCError.invalidRequest, "Invalid Request: no `method`"))
        }
        guard let method = methodValue.string, !method.isEmpty else {
            return .invalid(id: id, RPCError(RPCError.invalidRequest, "Invalid Request: `method` must be a non-empty string"))
        }
        var params: [String: JSONValue] = [:]
        if let raw = object["params"] {
            guard let fields = raw.object else {
                return object["id"] == nil
                    ? .notification(method: method)
                    : .invalid(id: id, RPCError(RPCError.invalidParams, "Invalid params: `params` must be an object"))
            }
            params = fields
        }
        guard object["id"] != nil else { return .notification(method: method) }
        return .request(id: id, method: method, params: params)
    }
}

/// Builds the bytes of a response.
enum RPCReply {
    static func result(id: JSONValue, _ result: JSONValue) -> Data {
        JSONValue.object(["jsonrpc": "2.0", "id": id, "result": result]).encoded()
    }

    static func error(id: JSONValue, _ error: RPCError) -> Data {
        JSONValue.object(["jsonrpc": "2.0", "id": id, "error": error.json]).encoded()
    }
}
