import DeviceGateKit
import HTTPTypes

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// MCP's streamable HTTP transport at the gateway's `/mcp`: one POST carries one JSON-RPC
/// message and gets its answer as JSON (or 202 for a notification). The gateway has identified
/// the agent by its key before this runs; there are no sessions (revision 2026-07-28 has none,
/// and older clients may do without), so any request can be answered on its own.
public struct MCPEndpoint: GatewayEndpoint {
    public let path = "/mcp"
    public let maxBodyBytes: Int
    let server: MCPServer

    /// - Parameter maxBodyBytes: room for an `http_request` body of the gateway's
    ///   `max_request_bytes`, in base64, inside the JSON-RPC message.
    public init(server: MCPServer, maxBodyBytes: Int) {
        self.server = server
        self.maxBodyBytes = maxBodyBytes
    }

    public func respond(to head: HTTPRequest, body: Data, agent: String) async -> EndpointAnswer {
        guard head.method == .post else {
            // No server-initiated stream (GET) and no session to end (DELETE).
            return Self.refusal(.methodNotAllowed, "only POST is served at \(path)", extra: [.allow: "POST"])
        }
        // A browser page must not reach the person's APIs through a local gateway (DNS rebinding).
        if head.headerFields[.origin] != nil {
            return Self.refusal(.forbidden, "requests from web pages (with an Origin header) are refused")
        }
        let contentType = head.headerFields[.contentType]?.lowercased() ?? ""
        guard contentType.split(separator: ";").first?.trimmingWhitespace() == "application/json" else {
            return Self.refusal(.unsupportedMediaType, "send one JSON-RPC message as Content-Type: application/json")
        }
        var headers: [String: String] = [:]
        for field in head.headerFields {
            let name = field.name.canonicalName
            headers[name] = headers[name].map { $0 + ", " + field.value } ?? field.value
        }
        let key = head.headerFields[.authorization].flatMap { value in
            value.lowercased().hasPrefix("bearer ") ? Secret(String(value.dropFirst(7)).trimmingWhitespace()) : nil
        }
        let caller = MCPServer.Caller(agent: agent, door: "mcp-http", agentKey: key)
        guard let answer = await server.handle(body, caller: caller, headers: headers) else { return EndpointAnswer(status: .accepted) }
        return EndpointAnswer(status: .init(code: answer.status), headers: [.contentType: "application/json"], body: answer.body)
    }

    static func refusal(_ status: HTTPResponse.Status, _ reason: String, extra: HTTPFields = [:]) -> EndpointAnswer {
        var headers = extra
        headers[.contentType] = "application/json"
        let body = JSONValue.object([
            "error": .string(status.reasonPhrase.lowercased().replacing(" ", with: "_")), "reason": .string(reason),
        ])
        return EndpointAnswer(status: status, headers: headers, body: body.encoded())
    }
}
