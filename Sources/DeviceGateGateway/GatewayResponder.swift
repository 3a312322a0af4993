import AsyncHTTPClient
import DeviceGateKit
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import NIOCore
import NIOHTTP1
import NIOHTTPTypesHTTP1

/// The gateway's request path: `/PROFILE/REST` → the profile's upstream, with the token
/// injected, inside the profile's policy. Each step refuses with a JSON reason, and everything
/// that reaches the upstream is audited first.
public struct GatewayResponder: HTTPResponder {
    public typealias Context = GatewayContext

    let state: GatewayState

    init(state: GatewayState) { self.state = state }

    public func respond(to request: Request, context: GatewayContext) async throws -> Response {
        let started = ContinuousClock.now
        let target = request.head.path ?? ""
        var audit: [String: AuditValue] = ["method": .string(request.method.rawValue)]
        do {
            return try await forward(request, target: target, started: started, audit: &audit)
        } catch let denial as Denial {
            if denial.audited {
                audit["status"] = .int(Int(denial.status.code))
                audit["reason"] = .string(denial.reason)
                try? await state.audit.record("denied", audit)
            }
            state.count(profile: denial.profile, outcome: denial.error, status: Int(denial.status.code))
            return denial.response()
        }
    }

    private func forward(_ request: Request, target: String, started: ContinuousClock.Instant, audit: inout [String: AuditValue])
        async throws -> Response
    {
        // 1. Origin-form only: an absolute URI or authority form could name another host.
        // (HTTPTypes turns `GET http://host/path` into scheme + authority + path, so look at both.)
        guard target.hasPrefix("/"), request.headers[HTTPField.Name(OriginFormGuard.marker)!] == nil else {
            throw Denial(
                status: .badRequest, error: "bad_request", profile: nil,
                reason: "only origin-form request targets (/PROFILE/path) are accepted")
        }
        let (pathPart, query) = Self.split(target)
        guard query.map(Self.isCleanQuery) ?? true else {
            throw Denial(status: .badRequest, error: "bad_request", profile: nil, reason: "the query string contains control characters")
        }
        let trimmed = pathPart.dropFirst()
        let name = String(trimmed.prefix { $0 != "/" })
        let rest = String(trimmed.dropFirst(name.count))
        guard let gate = state.profiles[name] else {
            throw Denial(
                status: .notFound, error: "unknown_profile", profile: nil, reason: "no profile \"\(name)\" is served here", audited: false)
        }
        audit["profile"] = .string(name)
        audit["path"] = .string(rest.isEmpty ? "/" : rest)

        // 2. Who is calling.
        let agent = try state.agent(for: request)
        audit["agent"] = .string(agent)

        // 3. Locked by the breaker?
        if let lock = ProfileLock.read(name, in: state.dataDirectory) {
            throw Denial(
                status: .init(code: 423, reasonPhrase: "Locked"), error: "locked", profile: name,
                reason: "\(lock.reason); a person must run `devicegate unlock \(name)`")
        }

        // 4. Rate limits.
        if let wait = await state.limiter.admit(
            name, perMinute: gate.settings.requestsPerMinute, perHour: gate.settings.requestsPerHour, now: Date())
        {
            var denial = Denial(
                status: .tooManyRequests, error: "rate_limited", profile: name, reason: "the profile's rate limit is reached")
            denial.retryAfter = Int(wait.rounded(.up))
            throw denial
        }

        // 5. Policy, on a path that cannot mean two things.
        let path: RequestPath
        do { path = try RequestPath(rest.isEmpty ? "/" : rest) } catch {
            await state.trip(name, .denial)
            throw Denial(status: .badRequest, error: "ambiguous_path", profile: name, reason: "\(error)")
        }
        guard let rule = gate.settings.rule(allowing: request.method.rawValue, path) else {
            await state.trip(name, .denial)
            throw Denial(
                status: .forbidden, error: "forbidden", profile: name,
                reason: "no rule allows \(request.method.rawValue) \(rest.isEmpty ? "/" : rest)")
        }
        audit["rule"] = .string(rule.description)

        // 6. Size limit, when announced.
        let length = request.headers[.contentLength].flatMap(Int.init)
        if let length, length > state.config.maxRequestBytes {
            throw Denial(
                status: .contentTooLarge, error: "too_large", profile: name,
                reason: "the body exceeds \(state.config.maxRequestBytes) bytes")
        }

        // 7. A valid token, or a sign-in for the person.
        var entry: StoredProfile
        do {
            entry = try await gate.broker.validEntry()
        } catch let error as BrokerError {
            let started = state.startSignInIfAllowed(gate)
            throw Denial(
                status: .unauthorized, error: "sign_in_required", profile: name,
                reason: "\(error)" + (started ? " A sign-in was started; the person has been sent the code. Retry in a minute." : ""))
        }

        // 8. Nothing acts unrecorded.
        do { try await state.audit.record("request", audit) } catch {
            state.logger.error("audit log unwritable; refusing", metadata: ["error": "\(error)"])
            throw Denial(
                status: .serviceUnavailable, error: "audit_unavailable", profile: name,
                reason: "the audit log cannot be written, so nothing is forwarded", audited: false)
        }

        let upstreamURL = gate.upstreamBase + rest + (query.map { "?" + $0 } ?? "")
        let limited = ByteLimit(request.body, limit: state.config.maxRequestBytes)
        var response: HTTPClientResponse
        do {
            response = try await state.upstream.send(
                request, url: upstreamURL, body: limited, length: length, token: entry.tokens.accessToken)
            let replayable = [.get, .head, .options].contains(request.method) && (length ?? 0) == 0
            if response.status == .unauthorized, replayable {
                entry = try await gate.broker.entryAfterRejection(of: entry.tokens.accessToken)
                audit["refreshed"] = .bool(true)
                response = try await state.upstream.send(request, url: upstreamURL, body: nil, length: nil, token: entry.tokens.accessToken)
                if response.status == .unauthorized { await state.trip(name, .upstreamRejection) }
            }
        } catch let error as BrokerError {
            throw Denial(status: .unauthorized, error: "sign_in_required", profile: name, reason: "\(error)")
        } catch {
            if limited.exceeded.withLockedValue({ $0 }) {
                throw Denial(
                    status: .contentTooLarge, error: "too_large", profile: name,
                    reason: "the body exceeds \(state.config.maxRequestBytes) bytes")
            }
            throw Denial(
                status: .badGateway, error: "upstream_unreachable", profile: name,
                reason: "the upstream did not answer: \(Self.plain(error))")
        }
        return state.relay(response, profile: name, audit: audit, started: started)
    }

    static func split(_ target: String) -> (String, String?) {
        guard let mark = target.firstIndex(of: "?") else { return (target, nil) }
        return (String(target[..<mark]), String(target[target.index(after: mark)...]))
    }

    static func isCleanQuery(_ query: String) -> Bool {
        query.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value != 0x7F }
    }

    static func plain(_ error: any Error) -> String {
        if let error = error as? HTTPClientError { return "\(error)" }
        return String(describing: error).split(separator: "\n").first.map(String.init) ?? "error"
    }
}
