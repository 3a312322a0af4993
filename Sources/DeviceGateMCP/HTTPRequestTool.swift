import DeviceGateKit
import HTTPTypes
import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `http_request`: one call to a profile's API through the ``Gatekeeper``, the same decision and
/// forwarding as a call to the HTTP gateway (agent, lock, rate limit, path, policy, size, token,
/// audit, breaker), with the answer returned as text or base64 up to a cap.
public struct HTTPRequestTool: MCPTool {
    let keeper: Gatekeeper
    /// The served profiles this server offers (`--profile` narrows them).
    let profiles: [Profile]
    public let name = "http_request"

    /// The body returned when the caller names no cap: enough for most API answers, small
    /// enough for a model's context.
    public static let defaultMaxResponseBytes = 1 << 20
    /// The most a caller may ask for: the answer travels inside one JSON-RPC message.
    public static let maxResponseBytesCeiling = 8 << 20
    static let maxPathBytes = 8192

    /// - Parameter profiles: the server's profiles; those the keeper does not serve (no
    ///   `upstream`) are left out.
    public init(keeper: Gatekeeper, profiles: [Profile]) {
        self.keeper = keeper
        self.profiles = profiles.filter { keeper.profiles[$0.name] != nil }.sorted { $0.name < $1.name }
    }

    public var definition: JSONValue {
        let policies = profiles.compactMap { profile in profile.gateway.map { "- \(profile.name): \(PolicyWords.summary($0))." } }
        let description =
            "Calls a profile's HTTP API through devicegate, which adds the person's token: you never see or send one. "
            + "Only these calls are allowed (`*` is one path segment, `**` any number):\n" + policies.joined(separator: "\n")
            + "\nThe path is relative to the profile's upstream and may carry a query. The answer has the status, the headers and the body "
            + "(text, JSON pretty-printed, or body_base64), cut at max_response_bytes (default 1 MiB). A refusal is an error naming why: "
            + "forbidden (the policy does not allow it: do not retry or look for a way around it, tell the person), sign_in_required "
            + "(use sign_in, or tell the person a code was sent if the reason says so), locked (a person must run devicegate unlock), "
            + "rate_limited (wait retry_after seconds), ambiguous_path, too_large."
        let properties: [String: JSONValue] = [
            "profile": [
                "type": "string", "enum": .array(profiles.map { .string($0.name) }),
                "description": "The devicegate profile whose API to call.",
            ],
            "method": ["type": "string", "description": "The HTTP method, upper case: GET, POST, …", "pattern": "^[A-Z]{1,16}$"],
            "path": ["type": "string", "description": "The path on the upstream, starting with /, with any query: /v1.0/me?$select=id"],
            "headers": [
                "type": "object", "additionalProperties": ["type": "string"],
                "description": "Extra request headers (Content-Type, Accept, …). Credentials and routing headers are devicegate's.",
            ],
            "body": ["type": "string", "description": "The request body as text (UTF-8)."],
            "body_base64": ["type": "string", "description": "The request body as base64, for bytes that are not text."],
            "max_response_bytes": [
                "type": "integer", "minimum": 1, "maximum": .int(Int64(Self.maxResponseBytesCeiling)),
                "description": "The most body bytes to return (default 1048576).",
            ],
        ]
        return [
            "name": .string(name), "title": "HTTP request through devicegate", "description": .string(description),
            "inputSchema": [
                "type": "object", "properties": .object(properties), "required": ["profile", "method", "path"],
                "additionalProperties": false,
            ],
            "annotations": ["readOnlyHint": false, "destructiveHint": true, "openWorldHint": true],
        ]
    }

    /// A checked request, ready for the access core.
    struct Request {
        var head: HTTPRequest
        var body: Data?
        var maxResponseBytes: Int
    }

    public func call(_ arguments: ToolArguments, caller: MCPServer.Caller) async -> ToolResult {
        let request: Request
        do { request = try check(arguments, caller: caller) } catch { return .failure("invalid_arguments", error.message) }
        let answer: ForwardedResponse
        do {
            let body = request.body.map { data in
                AsyncStream<ByteBuffer> { continuation in
                    continuation.yield(ByteBuffer(bytes: data))
                    continuation.finish()
                }
            }
            answer = try await keeper.call(request.head, body: body, door: caller.door)
        } catch {
            var extra: [String: JSONValue] = ["status": .int(Int64(error.status.code))]
            if let retryAfter = error.retryAfter { extra["retry_after"] = .int(Int64(retryAfter)) }
            return .failure(error.error, error.reason, extra: extra)
        }
        return await ResponseRendering.render(answer, cap: request.maxResponseBytes)
    }

    func check(_ arguments: ToolArguments, caller: MCPServer.Caller) throws(ToolArguments.Invalid) -> Request {
        try arguments.only(["profile", "method", "path", "headers", "body", "body_base64", "max_response_bytes"])
        let profile = try arguments.string("profile")
        guard profiles.contains(where: { $0.name == profile }) else {
            throw ToolArguments.Invalid(
                message: "no profile \"\(String(profile.prefix(64)))\" is served for HTTP calls here; the profiles are "
                    + PolicyWords.list(profiles.map(\.name)))
        }
        let methodText = try arguments.string("method")
        guard (1...16).contains(methodText.utf8.count), methodText.utf8.allSatisfy({ (0x41...0x5A).contains($0) }),
            let method = HTTPRequest.Method(methodText)
        else { throw ToolArguments.Invalid(message: "`method` must be an HTTP method in upper case, such as GET or POST") }
        let path = try arguments.string("path")
        guard path.hasPrefix("/"), path.utf8.count <= Self.maxPathBytes, path.utf8.allSatisfy({ (0x21...0x7E).contains($0) }),
            !path.contains("#")
        else {
            throw ToolArguments.Invalid(
                message:
                    "`path` must start with /, be at most \(Self.maxPathBytes) bytes of visible ASCII (percent-encode anything else) and carry no #fragment"
            )
        }
        var fields = HTTPFields()
        for (name, value) in (try arguments.optionalStrings("headers") ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard let fieldName = HTTPField.Name(name) else {
                throw ToolArguments.Invalid(message: "`headers`: \"\(String(name.prefix(64)))\" is not a header name")
            }
            guard HeaderRules.forwardable(name, listed: [], fromAgent: true) else {
                throw ToolArguments.Invalid(message: "`headers`: \(fieldName.canonicalName) is set by devicegate, not by the caller")
            }
            guard HTTPField.isValidValue(value) else {
                throw ToolArguments.Invalid(
                    message: "`headers`: the value of \(fieldName.canonicalName) has characters a header cannot carry")
            }
            fields.append(HTTPField(name: fieldName, value: value))
        }
        let text = try arguments.optionalString("body")
        let encoded = try arguments.optionalString("body_base64")
        var body: Data?
        switch (text, encoded) {
        case (let text?, nil): body = Data(text.utf8)
        case (nil, let encoded?):
            guard let data = Data(base64Encoded: encoded) else { throw ToolArguments.Invalid(message: "`body_base64` is not valid base64") }
            body = data
        case (nil, nil): body = nil
        case (.some, .some): throw ToolArguments.Invalid(message: "give `body` or `body_base64`, not both")
        }
        if let body { fields[.contentLength] = String(body.count) }
        let cap = try arguments.optionalInt("max_response_bytes") ?? Self.defaultMaxResponseBytes
        guard (1...Self.maxResponseBytesCeiling).contains(cap) else {
            throw ToolArguments.Invalid(message: "`max_response_bytes` must be from 1 to \(Self.maxResponseBytesCeiling)")
        }
        if let key = caller.agentKey { fields[.authorization] = "Bearer " + key.reveal() }
        let head = HTTPRequest(method: method, scheme: nil, authority: nil, path: "/\(profile)\(path)", headerFields: fields)
        return Request(head: head, body: body, maxResponseBytes: cap)
    }
}
