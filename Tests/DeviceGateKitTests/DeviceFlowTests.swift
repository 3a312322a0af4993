import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

/// RFC 8628 polling, branch by branch, against a real loopback server with manual time.
@Suite struct DeviceFlowTests {
    static let code = DeviceAuthorization(
        deviceCode: Secret("dev-code-1"), userCode: "ABCD-EFGH", verificationURI: "https://idp.test/device", verificationURIComplete: nil,
        expiresIn: 600, interval: 5, message: nil, issuedAt: Date(timeIntervalSince1970: 1_800_000_000))

    struct Harness {
        let server: LoopbackServer
        let time = ManualTime()
        var flow: DeviceFlow {
            DeviceFlow(
                deviceAuthorizationEndpoint: server.url("/device"), tokenEndpoint: server.url("/token"), client: OAuthClient(id: "cli"),
                transport: AsyncHTTPTransport.shared, time: time)
        }
    }

    static func harness(_ answers: [ScriptedResponse]) async throws -> Harness {
        let script = Script(answers)
        return Harness(server: try await LoopbackServer.start { _ in script.next() })
    }

    static let pending = ScriptedResponse.json(400, ["error": "authorization_pending"])
    static let tokens = ScriptedResponse.json(
        200, ["access_token": "at-1", "refresh_token": "rt-1", "token_type": "Bearer", "expires_in": 3600, "scope": "openid email"])

    @Test func pendingThenTokensPollsAtTheIntervalWithAMargin() async throws {
        let h = try await Self.harness([Self.pending, Self.pending, Self.tokens])
        defer { Task { await h.server.stop() } }
        let tokens = try await h.flow.waitForTokens(Self.code, requestedScopes: ["openid"])
        #expect(tokens.accessToken.reveal() == "at-1")
        #expect(tokens.refreshToken?.reveal() == "rt-1")
        #expect(tokens.scopes == ["openid", "email"])
        #expect(h.time.sleeps == [6, 6, 6])  // 5 s × 1.2
        let polls = h.server.requests(to: "/token")
        #expect(polls.count == 3)
        #expect(polls[0].form["grant_type"] == DeviceFlow.grantType)
        #expect(polls[0].form["device_code"] == "dev-code-1")
        #expect(polls[0].form["client_id"] == "cli")
        #expect(polls[0].header("Accept") == "application/json")
    }

    @Test func slowDownAddsFiveSecondsAndWidensTheMargin() async throws {
        let h = try await Self.harness([.json(400, ["error": "slow_down"]), Self.pending, Self.tokens])
        defer { Task { await h.server.stop() } }
        _ = try await h.flow.waitForTokens(Self.code, requestedScopes: [])
        #expect(h.time.sleeps == [6, 14, 14])  // then 10 s × 1.4
    }

    @Test func slowDownUsesTheIntervalGitHubSends() async throws {
        let h = try await Self.harness([.json(200, ["error": "slow_down", "interval": 15]), Self.tokens])
        defer { Task { await h.server.stop() } }
        _ = try await h.flow.waitForTokens(Self.code, requestedScopes: [])
        #expect(h.time.sleeps == [6, 21])  // 15 s × 1.4
    }

    @Test func repeatedSlowDownIsReportedAsClockDrift() async throws {
        let h = try await Self.harness([.json(400, ["error": "slow_down"]), .json(400, ["error": "slow_down"]), Self.tokens])
        defer { Task { await h.server.stop() } }
        let seen = Recorder<DeviceFlow.Progress>()
        _ = try await h.flow.waitForTokens(Self.code, requestedScopes: []) { await seen.add($0) }
        #expect(await seen.items == [.slowedDown(interval: 10), .clockDrift(percent: 40), .slowedDown(interval: 15)])
    }

    @Test(arguments: ["access_denied", "authorization_declined"])
    func declinedEndsTheFlow(code: String) async throws {
        let h = try await Self.harness([Self.pending, .json(400, ["error": code, "error_description": "user said no"])])
        defer { Task { await h.server.stop() } }
        await #expect {
            _ = try await h.flow.waitForTokens(Self.code, requestedScopes: [])
        } throws: { error in
            guard case DeviceFlowError.declined(let why) = error else { return false }
            return why == "user said no"
        }
    }

    @Test(arguments: ["expired_token", "token_expired"])
    func expiredTokenEndsTheFlow(code: String) async throws {
        let h = try await Self.harness([.json(400, ["error": code])])
        defer { Task { await h.server.stop() } }
        await #expect {
            _ = try await h.flow.waitForTokens(Self.code, requestedScopes: [])
        } throws: { error in
            if case DeviceFlowError.expired = error { return true } else { return false }
        }
    }

    @Test func theDeadlineEndsTheFlowWhenTheServerKeepsSayingPending() async throws {
        let h = try await Self.harness([Self.pending])
        defer { Task { await h.server.stop() } }
        let short = DeviceAuthorization(
            deviceCode: Secret("d"), userCode: "U", verificationURI: "https://x", verificationURIComplete: nil, expiresIn: 30, interval: 5,
            message: nil, issuedAt: h.time.now())
        await #expect {
            _ = try await h.flow.waitForTokens(short, requestedScopes: [])
        } throws: { error in
            if case DeviceFlowError.expired = error { return true } else { return false }
        }
        #expect(h.server.requests(to: "/token").count == 4)  // at 6, 12, 18, 24 s; the wait to 30 s ends it
        #expect(h.time.sleeps.reduce(0, +) == 30)
    }

    @Test func anotherErrorStopsPollingWithTheServersDescription() async throws {
        let h = try await Self.harness([.json(401, ["error": "invalid_client", "error_description": "Client authentication failed"])])
        defer { Task { await h.server.stop() } }
        await #expect {
            _ = try await h.flow.waitForTokens(Self.code, requestedScopes: [])
        } throws: { error in
            guard case DeviceFlowError.rejected(let e) = error else { return false }
            return e.code == "invalid_client" && "\(error)".contains("Client authentication failed")
        }
        #expect(h.server.requests(to: "/token").count == 1)
    }

    @Test func serverErrorsAndHTMLPagesAreRetriedWithBackoff() async throws {
        let h = try await Self.harness([.html(503), .html(502), Self.pending, Self.tokens])
        defer { Task { await h.server.stop() } }
        let seen = Recorder<DeviceFlow.Progress>()
        _ = try await h.flow.waitForTokens(Self.code, requestedScopes: []) { await seen.add($0) }
        #expect(h.time.sleeps == [6, 6, 12, 6])
        #expect(await seen.items.filter { if case .transientFailure = $0 { true } else { false } }.count == 2)
    }

    @Test func tooManyRequestsHonoursRetryAfter() async throws {
        let h = try await Self.harness([.json(429, ["message": "busy"], headers: [("Retry-After", "40")]), Self.tokens])
        defer { Task { await h.server.stop() } }
        _ = try await h.flow.waitForTokens(Self.code, requestedScopes: [])
        #expect(h.time.sleeps == [6, 40])
    }

    @Test func auth0sSlowDownWith429IsReadAsSlowDown() async throws {
        let h = try await Self.harness([
            .json(429, ["error": "slow_down", "error_description": "You are polling faster than the specified interval of 5 seconds."]),
            Self.tokens,
        ])
        defer { Task { await h.server.stop() } }
        _ = try await h.flow.waitForTokens(Self.code, requestedScopes: [])
        #expect(h.time.sleeps == [6, 14])
    }

    @Test func aDroppedConnectionIsRetried() async throws {
        let h = try await Self.harness([.dropped, Self.tokens])
        defer { Task { await h.server.stop() } }
        let tokens = try await h.flow.waitForTokens(Self.code, requestedScopes: [])
        #expect(tokens.accessToken.reveal() == "at-1")
        #expect(h.time.sleeps.count == 2)
    }

    @Test func anUnreachableServerIsRetriedUntilTheDeadline() async throws {
        let server = try await LoopbackServer.start { _ in Self.pending }
        let url = server.url("/token")
        await server.stop()  // nothing listens on the port any more
        let time = ManualTime()
        // AsyncHTTPClient retries a refused connection until the request deadline; keep it short.
        let flow = DeviceFlow(
            deviceAuthorizationEndpoint: url, tokenEndpoint: url, client: OAuthClient(id: "c"),
            transport: AsyncHTTPTransport(timeout: .milliseconds(300)), time: time)
        let short = DeviceAuthorization(
            deviceCode: Secret("d"), userCode: "U", verificationURI: "https://x", verificationURIComplete: nil, expiresIn: 120, interval: 5,
            message: nil, issuedAt: time.now())
        await #expect {
            _ = try await flow.waitForTokens(short, requestedScopes: [])
        } throws: { error in
            if case DeviceFlowError.expired = error { return true } else { return false }
        }
        #expect(time.sleeps.prefix(5) == [6, 6, 12, 24, 48])  // first wait, then exponential backoff: never a tight loop
    }

    @Test func githubsHTTP200ErrorsAndFormEncodedTokensAreUnderstood() async throws {
        let h = try await Self.harness([
            .form(200, [("error", "authorization_pending"), ("error_description", "pending")]),
            .form(200, [("access_token", "gho_x"), ("token_type", "bearer"), ("scope", "repo,gist")]),
        ])
        defer { Task { await h.server.stop() } }
        let tokens = try await h.flow.waitForTokens(Self.code, requestedScopes: [])
        #expect(tokens.accessToken.reveal() == "gho_x")
        #expect(tokens.scopes == ["repo", "gist"])
        #expect(tokens.expiresAt == nil)
    }

    @Test func cancellationStopsPollingAtOnce() async throws {
        let h = try await Self.harness([Self.pending])
        defer { Task { await h.server.stop() } }
        let flow = DeviceFlow(
            deviceAuthorizationEndpoint: h.server.url("/device"), tokenEndpoint: h.server.url("/token"), client: OAuthClient(id: "c"),
            transport: AsyncHTTPTransport.shared, time: SystemTimeSource())
        let task = Task { try await flow.waitForTokens(Self.code, requestedScopes: []) }
        try await Task.sleep(nanoseconds: 100_000_000)
        task.cancel()
        let started = Date()
        await #expect(throws: CancellationError.self) { _ = try await task.value }
        #expect(Date().timeIntervalSince(started) < 5)  // well before the 6 s wait would end
        #expect(h.server.requests(to: "/token").isEmpty)  // the 6 s wait was interrupted
    }

    // MARK: requesting the code

    @Test func requestCodeSendsScopesClientAndExtraParameters() async throws {
        let server = try await LoopbackServer.start { _ in
            .json(
                200,
                [
                    "device_code": "d", "user_code": "WXYZ-1234", "verification_uri": "https://idp/device",
                    "verification_uri_complete": "https://idp/device?c=1", "expires_in": 900, "interval": 5,
                ])
        }
        defer { Task { await server.stop() } }
        let flow = DeviceFlow(
            deviceAuthorizationEndpoint: server.url("/device"), tokenEndpoint: server.url("/token"),
            client: OAuthClient(id: "cli", secret: Secret("s3cret")), transport: AsyncHTTPTransport.shared, time: ManualTime())
        let code = try await flow.requestCode(scopes: ["openid", "offline_access"], extra: [("audience", "https://api.example")])
        #expect(code.userCode == "WXYZ-1234")
        #expect(code.verificationURIComplete == "https://idp/device?c=1")
        #expect(code.expiresIn == 900)
        let form = server.requests[0].form
        #expect(form["scope"] == "openid offline_access")
        #expect(form["client_id"] == "cli")
        #expect(form["client_secret"] == "s3cret")  // Google's device flow wants it
        #expect(form["audience"] == "https://api.example")
    }

    @Test func requestCodeExplainsAnHTMLAnswer() async throws {
        let server = try await LoopbackServer.start { _ in .html(500) }
        defer { Task { await server.stop() } }
        let flow = DeviceFlow(
            deviceAuthorizationEndpoint: server.url("/device"), tokenEndpoint: server.url("/token"), client: OAuthClient(id: "c"),
            transport: AsyncHTTPTransport.shared, time: ManualTime())
        await #expect {
            _ = try await flow.requestCode(scopes: ["openid"])
        } throws: { error in
            "\(error)".contains("HTTP 500 with a text/html body")
        }
    }

    @Test func requestCodeExplainsAnUnauthorizedClient() async throws {
        let server = try await LoopbackServer.start { _ in .json(403, ["error": "unauthorized_client"]) }
        defer { Task { await server.stop() } }
        let flow = DeviceFlow(
            deviceAuthorizationEndpoint: server.url("/device"), tokenEndpoint: server.url("/token"), client: OAuthClient(id: "c"),
            transport: AsyncHTTPTransport.shared, time: ManualTime())
        await #expect {
            _ = try await flow.requestCode(scopes: ["openid"])
        } throws: { error in
            "\(error)".contains("unauthorized_client") && "\(error)".contains("allow the device authorization grant")
        }
    }
}

/// Collects values from concurrent callbacks.
actor Recorder<T: Sendable> {
    var items: [T] = []
    func add(_ item: T) { items.append(item) }
}
