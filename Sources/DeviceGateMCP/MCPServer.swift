import DeviceGateKit

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The Model Context Protocol, without a transport: a message in, at most one message out.
///
/// It speaks both eras of the protocol, because agent runtimes are on both: the stateless
/// revision 2026-07-28 (every request carries its protocol version and client capabilities in
/// `params._meta`; `server/discover` instead of a handshake) and the `initialize` handshake of
/// 2024-11-05 … 2025-11-25. Neither era needs state here, so the same value serves stdio and HTTP,
/// and a bad message never ends a session: it is answered with a JSON-RPC error and forgotten.
public struct MCPServer: Sendable {
    /// Revisions served with the per-request envelope.
    public static let modernVersions = ["2026-07-28"]
    /// Revisions reachable through `initialize`, newest first.
    public static let handshakeVersions = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]

    static let versionKey = "io.modelcontextprotocol/protocolVersion"
    static let capabilitiesKey = "io.modelcontextprotocol/clientCapabilities"
    static let serverInfoKey = "io.modelcontextprotocol/serverInfo"

    /// Who is calling, as the audit log names them.
    public struct Caller: Sendable {
        /// The agent: its key's name on HTTP, `local` on stdio.
        public let agent: String
        /// Which door the call came through (`mcp-stdio`, `mcp-http`), for the audit log.
        public let door: String
        /// The agent key the caller sent over HTTP: `http_request` hands it to the access core,
        /// which identifies the agent again exactly as for a plain gateway call.
        public let agentKey: Secret?

        /// - Parameter agentKey: only from `/mcp`; nil on stdio, where the agent is `local`.
        public init(agent: String, door: String, agentKey: Secret? = nil) {
            self.agent = agent
            self.door = door
            self.agentKey = agentKey
        }
    }

    /// A reply to send: the JSON-RPC message and, for HTTP, its status.
    public struct Answer: Sendable {
        /// One JSON-RPC response, without a trailing newline (stdio adds it).
        public let body: Data
        /// 200, or the spec's status for the error it carries (400, 404).
        public let status: Int
    }

    let tools: [any MCPTool]
    let instructions: String
    let serverInfo: JSONValue = ["name": "devicegate", "title": "devicegate", "version": .string(DeviceGateVersion.current)]

    /// - Parameters:
    ///   - tools: what `tools/list` offers and `tools/call` runs, in that order.
    ///   - instructions: the server's introduction, which clients put before the tool list.
    public init(tools: [any MCPTool], instructions: String) {
        self.tools = tools
        self.instructions = instructions
    }

    /// Handles one message. `headers` (lowercased names) are given for HTTP, where the
    /// 2026-07-28 revision requires them to agree with the body; `nil` on stdio.
    /// - Returns: `nil` for a notification or a response, which are never answered.
    public func handle(_ data: Data, caller: Caller, headers: [String: String]? = nil) async -> Answer? {
        switch RPCMessage.classify(data) {
        case .response, .notification: return nil
        case .invalid(let id, let error): return Answer(body: RPCReply.error(id: id, error), status: error.httpStatus)
        case .request(let id, let method, let params):
            do {
                let result = try await respond(method: method, params: params, caller: caller, headers: headers)
                return Answer(body: RPCReply.result(id: id, result), status: 200)
            } catch {
                return Answer(body: RPCReply.error(id: id, error), status: error.httpStatus)
            }
        }
    }

    func respond(method: String, params: [String: JSONValue], caller: Caller, headers: [String: String]?) async throws(RPCError)
        -> JSONValue
    {
        let meta = params["_meta"]
        guard let envelope = meta?[Self.versionKey] else {
            return try await legacy(method: method, params: params, caller: caller, headers: headers)
        }
        // 2026-07-28: the envelope, then the headers (a client that disagrees with itself is
        // told so first), then the version.
        guard meta?[Self.capabilitiesKey]?.object != nil else {
            throw RPCError(RPCError.invalidParams, "params._meta must carry \(Self.capabilitiesKey) (an object) with \(Self.versionKey)")
        }
        if let headers { try Self.checkHeaders(headers, method: method, params: params, version: envelope) }
        guard let version = envelope.string else {
            throw RPCError(RPCError.invalidParams, "\(Self.versionKey) must be a string")
        }
        guard Self.modernVersions.contains(version) else {
            throw RPCError(
                RPCError.unsupportedProtocolVersion, "Unsupported protocol version \(version)",
                data: ["supported": .array((Self.modernVersions + Self.handshakeVersions).map(JSONValue.string)), "requested": envelope])
        }
        var result: [String: JSONValue]
        switch method {
        case "server/discover":
            result = [
                "supportedVersions": .array((Self.modernVersions + Self.handshakeVersions).map(JSONValue.string)),
                "capabilities": ["tools": [:]], "instructions": .string(instructions), "cacheScope": "private", "ttlMs": 0,
            ]
        case "tools/list": result = ["tools": .array(tools.map(\.definition)), "cacheScope": "private", "ttlMs": 0]
        case "tools/call": result = try await call(params, caller: caller)
        // `ping` and `initialize` are gone from this revision: unknown methods, as the spec says.
        default: throw RPCError(RPCError.methodNotFound, "Method not found: \(method)")
        }
        result["resultType"] = "complete"
        result["_meta"] = [Self.serverInfoKey: serverInfo]
        return .object(result)
    }

    func legacy(method: String, params: [String: JSONValue], caller: Caller, headers: [String: String]?) async throws(RPCError)
        -> JSONValue
    {
        if let header = headers?["mcp-protocol-version"], method != "initialize", !Self.handshakeVersions.contains(header) {
            throw RPCError(RPCError.invalidRequest, "Unsupported MCP-Protocol-Version header \(header)")
        }
        switch method {
        case "initialize":
            guard let requested = params["protocolVersion"]?.string else {
                throw RPCError(RPCError.invalidParams, "initialize needs `protocolVersion` (a string)")
            }
            let version = Self.handshakeVersions.contains(requested) ? requested : Self.handshakeVersions[0]
            return [
                "protocolVersion": .string(version), "capabilities": ["tools": ["listChanged": false]], "serverInfo": serverInfo,
                "instructions": .string(instructions),
            ]
        case "tools/list": return ["tools": .array(tools.map(\.definition))]
        case "tools/call": return .object(try await call(params, caller: caller))
        case "ping": return [:]
        case "server/discover":
            throw RPCError(RPCError.invalidParams, "server/discover needs params._meta with \(Self.versionKey) and \(Self.capabilitiesKey)")
        default: throw RPCError(RPCError.methodNotFound, "Method not found: \(method)")
        }
    }

    func call(_ params: [String: JSONValue], caller: Caller) async throws(RPCError) -> [String: JSONValue] {
        guard let name = params["name"]?.string else { throw RPCError(RPCError.invalidParams, "tools/call needs `name` (a string)") }
        guard let tool = tools.first(where: { $0.name == name }) else {
            throw RPCError(
                RPCError.invalidParams, "Unknown tool: \(String(name.prefix(100)))",
                data: ["tools": .array(tools.map { .string($0.name) })])
        }
        var arguments: [String: JSONValue] = [:]
        if let raw = params["arguments"], raw != .null {
            guard let object = raw.object else { throw RPCError(RPCError.invalidParams, "`arguments` must be an object") }
            arguments = object
        }
        return await tool.call(ToolArguments(arguments), caller: caller).json
    }

    /// The 2026-07-28 streamable HTTP rule: `MCP-Protocol-Version`, `Mcp-Method` and, for
    /// `tools/call`, `Mcp-Name` repeat what the body says, so that a router can trust them.
    static func checkHeaders(_ headers: [String: String], method: String, params: [String: JSONValue], version: JSONValue) throws(RPCError)
    {
        guard let header = headers["mcp-protocol-version"], .string(header) == version else {
            throw RPCError(RPCError.headerMismatch, "the MCP-Protocol-Version header does not match params._meta's protocol version")
        }
        guard headers["mcp-method"] == method else {
            throw RPCError(RPCError.headerMismatch, "the Mcp-Method header does not match the body's method")
        }
        if method == "tools/call", let name = params["name"]?.string, headerValue(headers["mcp-name"]) != name {
            throw RPCError(RPCError.headerMismatch, "the Mcp-Name header does not match the body's tool name")
        }
    }

    /// A header value, with the spec's `=?base64?…?=` form for values that are not plain ASCII.
    static func headerValue(_ raw: String?) -> String? {
        guard let raw, raw.hasPrefix("=?base64?"), raw.hasSuffix("?="), raw.count >= 11 else { return raw }
        return Data(base64Encoded: String(raw.dropFirst(9).dropLast(2))).flatMap { String(data: $0, encoding: .utf8) }
    }
}
