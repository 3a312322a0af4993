import AsyncHTTPClient
import DeviceGateKit
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1

/// The upstream side: one pooled AsyncHTTPClient that never follows redirects, so a token is
/// only ever sent to the profile's own upstream origin.
struct UpstreamClient: Sendable {
    let client: HTTPClient

    init(config: GatewayConfig) {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(Int64(config.connectTimeout)), read: .seconds(Int64(config.readTimeout))))
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        configuration.decompression = .disabled
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Sends the agent's request upstream with its own credentials replaced by the token.
    func send(_ request: Request, url: String, body: ByteLimit?, length: Int?, token: Secret) async throws -> HTTPClientResponse {
        var outgoing = HTTPClientRequest(url: url)
        outgoing.method = HTTPMethod(rawValue: request.method.rawValue)
        let listed = HeaderRules.connectionListed(request.headers)
        for field in request.headers where HeaderRules.forwardable(field.name.canonicalName, listed: listed, fromAgent: true) {
            outgoing.headers.add(name: field.name.rawName, value: field.value)
        }
        outgoing.headers.replaceOrAdd(name: "Authorization", value: "Bearer " + token.reveal())
        if let body, request.headers[.contentLength] != nil || request.headers[.transferEncoding] != nil {
            outgoing.body = .stream(body, length: length.map { .known(Int64($0)) } ?? .unknown)
        }
        return try await client.execute(outgoing, deadline: .distantFuture)
    }

    func shutdown() async throws { try await client.shutdown() }
}

extension GatewayState {
    /// Streams the upstream's answer back, then records how it ended.
    func relay(_ response: HTTPClientResponse, profile: String, audit fields: [String: AuditValue], started: ContinuousClock.Instant)
        -> Response
    {
        var headers = HTTPFields()
        let listedNames = Set(
            response.headers["connection"].flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).lowercased() } }
        )
        var length: Int?
        for (name, value) in response.headers {
            let lower = name.lowercased()
            if lower == "content-length" {
                length = Int(value)
                continue
            }
            guard HeaderRules.forwardable(lower, listed: listedNames, fromAgent: false), let field = HTTPField.Name(name) else { continue }
            headers.append(HTTPField(name: field, value: value))
        }
        let status = Int(response.status.code)
        let body = response.body
        let audit = self.audit
        let countRequest: @Sendable (Int, String) -> Void = { [self] bytes, outcome in
            self.count(profile: profile, outcome: outcome, status: status)
            self.observe(profile: profile, duration: ContinuousClock.now - started, bytes: bytes)
            self.logger.debug(
                "proxied", metadata: ["profile": "\(profile)", "status": "\(status)", "bytes": "\(bytes)", "outcome": "\(outcome)"])
        }
        let base = auditFields(audit: fields, status: status)
        return Response(
            status: .init(code: status, reasonPhrase: response.status.reasonPhrase), headers: headers,
            body: ResponseBody(contentLength: length) { writer in
                var bytes = 0
                var outcome = "forwarded"
                do {
                    for try await chunk in body {
                        bytes += chunk.readableBytes
                        try await writer.write(chunk)
                    }
                    try await writer.finish(nil)
                } catch {
                    outcome = "aborted"
                    var entry = base
                    entry["bytes"] = .int(bytes)
                    entry["duration_ms"] = .double(Self.milliseconds(ContinuousClock.now - started))
                    entry["outcome"] = .string(outcome)
                    try? await audit.record("response", entry)
                    countRequest(bytes, outcome)
                    throw error
                }
                var entry = base
                entry["bytes"] = .int(bytes)
                entry["duration_ms"] = .double(Self.milliseconds(ContinuousClock.now - started))
                try? await audit.record("response", entry)
                countRequest(bytes, outcome)
            })
    }

    func auditFields(audit: [String: AuditValue], status: Int) -> [String: AuditValue] {
        var entry = audit
        entry["status"] = .int(status)
        return entry
    }

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15
    }
}
