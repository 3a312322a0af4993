import HTTPTypes

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Another protocol served on the gateway's own listener, at one fixed path, behind the same
/// agent keys: the MCP server's `/mcp` is one. The gateway stays ignorant of what it serves,
/// and the endpoint of how HTTP is served; both only know this and the ``Gatekeeper``.
public protocol GatewayEndpoint: Sendable {
    /// The exact path it answers at (`/mcp`); a query string is ignored when matching. It must
    /// not be `/` + a served profile's name, which the gateway refuses at start.
    var path: String { get }
    /// The largest request body it reads; a longer one is refused with 413 before it runs.
    var maxBodyBytes: Int { get }
    /// Answers one request whose agent the gateway has identified (`local` without keys).
    func respond(to head: HTTPRequest, body: Data, agent: String) async -> EndpointAnswer
}

/// A whole answer from a ``GatewayEndpoint``, sent as is.
public struct EndpointAnswer: Sendable {
    public var status: HTTPResponse.Status
    public var headers: HTTPFields
    public var body: Data

    public init(status: HTTPResponse.Status, headers: HTTPFields = [:], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

extension Gatekeeper {
    /// The agent calling a ``GatewayEndpoint``, by its key as for any call; a caller without a
    /// valid key is refused, recorded and counted, as ``call(_:refusal:body:)`` would.
    public func identify(_ head: HTTPRequest, endpoint: String) async throws(Denial) -> String {
        do { return try agent(for: head.headerFields) } catch {
            try? await audit.record(
                "denied",
                [
                    "method": .string(head.method.rawValue), "path": .string(endpoint), "status": .int(Int(error.status.code)),
                    "reason": .string(error.reason),
                ])
            metrics.countRequest(profile: nil, outcome: error.error, status: Int(error.status.code))
            throw error
        }
    }
}
