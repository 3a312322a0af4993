#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// RFC 8628 device authorization, against any provider's endpoints.
///
/// The engine requests a code, then polls exactly as §3.4–3.5 say, with two defences taken from
/// `cli/oauth`: a safety margin on the interval (1.2×, 1.4× after a `slow_down`) so a drifting
/// clock in a VM or WSL does not provoke `slow_down`, and a report when `slow_down` repeats.
/// Network errors, 5xx, 429 and answers that are not OAuth at all (an HTML page, an empty or
/// truncated body, a 200 without a token) never end the flow early: it backs off and keeps going
/// until the code's deadline. Only the provider's own OAuth errors end it. Cancelling the task
/// stops it at once.
public struct DeviceFlow: Sendable {
    public static let grantType = "urn:ietf:params:oauth:grant-type:device_code"

    /// What the engine tells its observer while it waits. No secrets.
    public enum Progress: Sendable, Equatable {
        case pending
        /// The server asked to slow down; the new interval in seconds.
        case slowedDown(interval: Int)
        /// `slow_down` came again despite the margin: the clocks disagree by about this fraction.
        case clockDrift(percent: Int)
        /// The server or network hiccupped; polling resumes after `retryIn` seconds.
        case transientFailure(reason: String, retryIn: Double)
    }

    public let deviceAuthorizationEndpoint: URL
    public let tokenEndpoint: URL
    public let client: OAuthClient
    public let transport: any HTTPTransport
    public let time: any TimeSource

    public init(
        deviceAuthorizationEndpoint: URL, tokenEndpoint: URL, client: OAuthClient,
        transport: any HTTPTransport, time: any TimeSource
    ) {
        self.deviceAuthorizationEndpoint = deviceAuthorizationEndpoint
        self.tokenEndpoint = tokenEndpoint
        self.client = client
        self.transport = transport
        self.time = time
    }

    /// §3.1: asks for a device code and a user code.
    /// - Parameter extra: provider parameters such as `audience` (Auth0) or `resource`.
    public func requestCode(scopes: [String], extra: [(String, String)] = []) async throws -> DeviceAuthorization {
        var fields: [(String, String)] = []
        if !scopes.isEmpty { fields.append(("scope", scopes.joined(separator: " "))) }
        fields += extra
        let authorization = try await client.authenticate(&fields, audience: tokenEndpoint, now: time.now())
        let response: IncomingResponse
        do {
            response = try await transport.send(.form(deviceAuthorizationEndpoint, fields, authorization: authorization))
        } catch let error as TransportError {
            throw DeviceFlowError.couldNotStart(error.description)
        }
        let fieldsIn = OAuthFields.parse(response)
        if let fieldsIn, Quirks.isErrorAnswer(fieldsIn), let error = OAuthErrorResponse(fields: fieldsIn, httpStatus: response.status) {
            throw DeviceFlowError.couldNotStart(error.description + Self.hint(for: error))
        }
        guard (200..<300).contains(response.status), let fieldsIn,
            let code = DeviceAuthorization.from(fieldsIn, now: time.now())
        else {
            throw DeviceFlowError.couldNotStart(
                "\(deviceAuthorizationEndpoint.redactedForDisplay) answered \(response.shapeForDisplay), not a device code")
        }
        return code
    }

    /// §3.4–3.5: polls until the person approves, declines, or the code expires.
    public func waitForTokens(
        _ code: DeviceAuthorization, requestedScopes: [String],
        progress: @Sendable (Progress) async -> Void = { _ in }
    ) async throws -> TokenSet {
        var interval = Double(code.interval)
        var margin = 1.2
        var slowDowns = 0
        var delay = interval * margin
        var failures = 0
        let deadline = code.expiresAt

        while true {
            let remaining = deadline.timeIntervalSince(time.now())
            guard remaining > 0 else { throw DeviceFlowError.expired }
            try await time.sleep(seconds: min(delay, remaining))
            guard time.now() < deadline else { throw DeviceFlowError.expired }

            var fields: [(String, String)] = [("grant_type", Self.grantType), ("device_code", code.deviceCode.reveal())]
            let authorization = try await client.authenticate(&fields, audience: tokenEndpoint, now: time.now())
            let response: IncomingResponse
            do {
                response = try await transport.send(.form(tokenEndpoint, fields, authorization: authorization))
            } catch let error as TransportError {
                failures += 1
                delay = Self.backoff(interval: interval * margin, failures: failures)
                await progress(.transientFailure(reason: error.description, retryIn: delay))
                continue
            }
            let throttled = response.status == 429 || response.status >= 500
            if throttled {
                failures += 1
                let serverWait = Quirks.retryAfter(response, now: time.now())
                delay = max(serverWait ?? 0, Self.backoff(interval: interval * margin, failures: failures))
                await progress(.transientFailure(reason: "the identity provider answered HTTP \(response.status)", retryIn: delay))
                // A 429 may still carry an OAuth slow_down body (Auth0); fall through to read it.
                if !(response.status == 429 && OAuthFields.parse(response).map(Quirks.isErrorAnswer) == true) { continue }
            }

            switch TokenEndpointAnswer.classify(response, requestedScopes: requestedScopes, now: time.now()) {
            case .tokens(let tokens):
                return tokens
            case .error(let error):
                // A real OAuth answer: the provider is back to normal.
                if !throttled { failures = 0 }
                switch error.code {
                case "authorization_pending":
                    // After a throttled answer keep the backoff; otherwise the plain interval.
                    if failures == 0 { delay = interval * margin }
                    await progress(.pending)
                case "slow_down":
                    slowDowns += 1
                    // RFC 8628 §3.5: +5 s; GitHub sends the interval to use instead.
                    interval = Double(error.interval ?? Int(interval) + 5)
                    if slowDowns > 1 {
                        // We already waited `margin` × the interval and were still early.
                        await progress(.clockDrift(percent: Int(((margin - 1) * 100).rounded())))
                    }
                    margin = 1.4
                    delay = interval * margin
                    await progress(.slowedDown(interval: Int(interval)))
                case "access_denied":
                    throw DeviceFlowError.declined(error.description_)
                case "expired_token":
                    throw DeviceFlowError.expired
                default:
                    throw DeviceFlowError.rejected(error)
                }
            case .unexpected(let response):
                // Already counted and reported above.
                if throttled { continue }
                // Not an OAuth answer: a captive portal's page, a proxy's error, a body cut
                // short, a 200 without a token. Only the provider's own errors end the flow
                // (§3.5); this says nothing about the code, which may be approved any moment.
                failures += 1
                delay = Self.backoff(interval: interval * margin, failures: failures)
                await progress(
                    .transientFailure(
                        reason: "\(tokenEndpoint.redactedForDisplay) answered \(response.shapeForDisplay), not an OAuth answer",
                        retryIn: delay))
            }
        }
    }

    /// Exponential backoff from the polling interval, capped at a minute (RFC 8628 §3.5).
    static func backoff(interval: Double, failures: Int) -> Double {
        min(60, interval * pow(2, Double(max(failures - 1, 0))))
    }

    static func hint(for error: OAuthErrorResponse) -> String {
        switch error.rawCode {
        case "device_flow_disabled": " (enable \"Device Flow\" in the GitHub OAuth app's settings)"
        case "unauthorized_client": " (allow the device authorization grant for this client at the identity provider)"
        case "invalid_client", "incorrect_client_credentials": " (check client_id and the client secret)"
        case "invalid_scope": " (the identity provider does not allow one of the requested scopes for this client)"
        default: ""
        }
    }
}
