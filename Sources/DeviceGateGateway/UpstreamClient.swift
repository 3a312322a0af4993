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

    /// Sends an admitted call upstream with the token as its only credential.
    func send(_ admission: Admission, body: ByteLimit?) async throws -> HTTPClientResponse {
        var outgoing = HTTPClientRequest(url: admission.url)
        outgoing.method = HTTPMethod(rawValue: admission.method.rawValue)
        for (name, value) in admission.headers { outgoing.headers.add(name: name, value: value) }
        outgoing.headers.replaceOrAdd(name: "Authorization", value: "Bearer " + admission.entry.tokens.accessToken.reveal())
        if let body {
            outgoing.body = .stream(body, length: admission.length.map { .known(Int64($0)) } ?? .unknown)
        }
        return try await client.execute(outgoing, deadline: .distantFuture)
    }

    func shutdown() async throws { try await client.shutdown() }
}

extension GatewayState {
    /// Streams the upstream's answer back without the token in it, then records how it ended
    /// (with how many copies of the token were overwritten and which headers were dropped).
    func relay(
        _ response: HTTPClientResponse, profile: String, audit fields: [String: AuditValue], redactor: TokenRedactor,
        started: ContinuousClock.Instant
    ) -> Response {
        var headers = HTTPFields()
        let listedNames = HeaderRules.connectionListed(response.headers["connection"])
        var length: Int?
        var dropped: [String] = []
        for (name, value) in response.headers {
            let lower = name.lowercased()
            if lower == "content-length" {
                length = Int(value)
                continue
            }
            guard HeaderRules.forwardable(lower, listed: listedNames, fromAgent: false), let field = HTTPField.Name(name) else { continue }
            if redactor.contains(value) {
                dropped.append(lower)
                continue
            }
            headers.append(HTTPField(name: field, value: value))
        }
        let status = Int(response.status.code)
        let phrase = redactor.contains(response.status.reasonPhrase) ? "" : response.status.reasonPhrase
        let body = response.body
        let audit = self.audit
        let countRequest: @Sendable (Int, String) -> Void = { [self] bytes, outcome in
            self.count(profile: profile, outcome: outcome, status: status)
            self.observe(profile: profile, duration: ContinuousClock.now - started, bytes: bytes)
            self.logger.debug(
                "proxied", metadata: ["profile": "\(profile)", "status": "\(status)", "bytes": "\(bytes)", "outcome": "\(outcome)"])
        }
        var fields = auditFields(audit: fields, status: status)
        if !dropped.isEmpty { fields["dropped_headers"] = .string(dropped.joined(separator: ",")) }
        let base = fields
        let finished: @Sendable (Int, Int, String) async -> Void = { bytes, redactions, outcome in
            var entry = base
            entry["bytes"] = .int(bytes)
            entry["duration_ms"] = .double(Self.milliseconds(ContinuousClock.now - started))
            if outcome != "forwarded" { entry["outcome"] = .string(outcome) }
            if redactions > 0 { entry["redacted"] = .int(redactions) }
            try? await audit.record("response", entry)
            countRequest(bytes, outcome)
        }
        return Response(
            status: .init(code: status, reasonPhrase: phrase), headers: headers,
            body: ResponseBody(contentLength: length) { writer in
                var bytes = 0
                var redactor = redactor
                do {
                    for try await chunk in body {
                        bytes += chunk.readableBytes
                        let safe = redactor.feed(chunk.readableBytesView)
                        if !safe.isEmpty { try await writer.write(ByteBuffer(bytes: safe)) }
                    }
                    let rest = redactor.finish()
                    if !rest.isEmpty { try await writer.write(ByteBuffer(bytes: rest)) }
                    try await writer.finish(nil)
                } catch {
                    await finished(bytes, redactor.redactions, "aborted")
                    throw error
                }
                await finished(bytes, redactor.redactions, "forwarded")
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
