import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import HTTPTypes
import Testing

/// The gateway's decision without a socket: request heads in, admissions or denials out, with
/// the manual clock driving the rate limit and breaker windows.
@Suite struct AdmissionCoreTests {
    /// A gatekeeper for one signed-in profile, `work`, whose upstream is never contacted here.
    struct Fixture {
        let dir = TemporaryDirectory("devicegate-admission")
        let time = ManualTime()
        let alerts = RecordingAlerter()
        let keeper: Gatekeeper
        var core: AdmissionCore { AdmissionCore(keeper) }

        init(
            allow: [String] = ["GET /v1.0/me/**", "POST /v1.0/me/sendMail"], perMinute: Int? = nil, denials: Int = 20,
            agents: [String: String] = [:], signedIn: Bool = true
        ) throws {
            let store = try TokenStore(directory: dir.path, keyFile: nil)
            var profile = Profile(name: "work", provider: ProviderSettings(kind: .github), clientID: "c")
            profile.gateway = GatewaySettings(
                upstream: URL(string: "https://api.example/base/")!, rules: try allow.map(PolicyRule.init), requestsPerMinute: perMinute)
            if signedIn {
                try store.save(
                    StoredProfile(
                        profile: "work", issuer: profile.issuerIdentity, clientID: "c",
                        tokens: TokenSet(
                            accessToken: Secret("ACCESS-TOKEN-SECRET-1"), refreshToken: nil,
                            expiresAt: time.now().addingTimeInterval(3600), obtainedAt: time.now()),
                        identity: nil, updatedAt: time.now()))
            }
            var config = GatewayConfig()
            config.agents = agents
            config.breakerDenials = denials
            config.maxRequestBytes = 1000
            keeper = Gatekeeper(
                profiles: [profile], config: config, store: store, audit: AuditLog(path: dir.file("audit.jsonl"), store: store),
                transport: AsyncHTTPTransport.shared, time: time, signIns: DecliningSignIn(), alerter: alerts,
                logger: .init(label: "test"))
        }

        func admit(_ method: HTTPRequest.Method = .get, _ target: String, _ fields: HTTPFields = [:]) async throws(Denial) -> Admission {
            var audit: [String: AuditValue] = [:]
            return try await core.admit(
                HTTPRequest(method: method, scheme: nil, authority: nil, path: target, headerFields: fields), refusal: nil, audit: &audit)
        }

        /// Runs `body` with a fixture and shuts its upstream pool down and removes its files
        /// afterwards, also when the body fails.
        static func run(
            allow: [String] = ["GET /v1.0/me/**", "POST /v1.0/me/sendMail"], perMinute: Int? = nil, denials: Int = 20,
            agents: [String: String] = [:], signedIn: Bool = true, _ body: (Fixture) async throws -> Void
        ) async throws {
            let fixture = try Fixture(allow: allow, perMinute: perMinute, denials: denials, agents: agents, signedIn: signedIn)
            defer { fixture.dir.remove() }
            do { try await body(fixture) } catch {
                try? await fixture.keeper.shutdown()
                throw error
            }
            try await fixture.keeper.shutdown()
        }

        func denial(_ method: HTTPRequest.Method = .get, _ target: String, _ fields: HTTPFields = [:]) async -> Denial? {
            do {
                _ = try await admit(method, target, fields)
                return nil
            } catch { return error }
        }
    }

    @Test func anAdmittedCallGoesToTheUpstreamWithTheCheckedPathAndWithoutTheAgentsCredentialsOrRoutingHints() async throws {
        try await Fixture.run { fixture in
            let admission = try await fixture.admit(
                .get, "/work/v1.0/me/messages?$top=5",
                [
                    .authorization: "Bearer agent-guess", .init("X-Forwarded-Host")!: "evil", .init("X-HTTP-Method-Override")!: "DELETE",
                    .accept: "application/json",
                ])
            #expect(admission.url == "https://api.example/base/v1.0/me/messages?$top=5")
            #expect(admission.rule.description == "GET /v1.0/me/**")
            #expect(admission.agent == "local")
            let names = admission.headers.map { $0.name.lowercased() }
            #expect(names.contains("accept"))
            #expect(!names.contains("authorization") && !names.contains("x-forwarded-host") && !names.contains("x-http-method-override"))
            #expect(admission.headers.contains { $0.name == "Accept-Encoding" && $0.value == "identity" })
        }
    }

    @Test func theStepsRunInOrderAndEachRefusesWithItsOwnAnswer() async throws {
        try await Fixture.run { fixture in
            #expect(await fixture.denial(.get, "/nosuch/v1.0/me")?.error == "unknown_profile")
            #expect(await fixture.denial(.get, "/work/v1.0/me/%2e%2e/admin")?.error == "ambiguous_path")
            #expect(await fixture.denial(.delete, "/work/v1.0/me/x")?.error == "forbidden")
            #expect(await fixture.denial(.get, "/work/v1.0/you")?.status == .forbidden)
            #expect(await fixture.denial(.post, "/work/v1.0/me/sendMail", [.contentLength: "1001"])?.error == "too_large")
            #expect(await fixture.denial(.get, "http://elsewhere/work/v1.0/me")?.error == "bad_request")
        }
    }

    @Test func noValidTokenAsksForASignIn() async throws {
        try await Fixture.run(signedIn: false) { fixture in
            let denial = await fixture.denial(.get, "/work/v1.0/me")
            #expect(denial?.status == .unauthorized)
            #expect(denial?.error == "sign_in_required")
        }
    }

    @Test func theAgentKeyIsCheckedBeforeAnythingAboutProfilesIsRevealed() async throws {
        let (key, hash) = AgentKeys.generate()
        try await Fixture.run(agents: ["openclaw": hash]) { fixture in
            #expect(await fixture.denial(.get, "/nosuch/x")?.error == "agent_key_required")
            #expect(await fixture.denial(.get, "/work/v1.0/me")?.error == "agent_key_required")
            #expect(await fixture.denial(.get, "/work/v1.0/me", [.authorization: "Bearer dgk_wrong"])?.error == "agent_key_required")
            let admission = try await fixture.admit(.get, "/work/v1.0/me", [.authorization: "Bearer \(key)"])
            #expect(admission.agent == "openclaw")
        }
    }

    @Test func theRateLimitWindowSlidesWithTheClock() async throws {
        try await Fixture.run(perMinute: 2) { fixture in
            _ = try await fixture.admit(.get, "/work/v1.0/me")
            fixture.time.advance(30)
            _ = try await fixture.admit(.get, "/work/v1.0/me")
            let limited = try #require(await fixture.denial(.get, "/work/v1.0/me"))
            #expect(limited.error == "rate_limited")
            #expect(limited.retryAfter == 30, "the first call leaves the window 30 s from now")
            fixture.time.advance(30)
            _ = try await fixture.admit(.get, "/work/v1.0/me")
            #expect(await fixture.denial(.get, "/work/v1.0/me")?.error == "rate_limited", "the second call is still in the window")
        }
    }

    @Test func denialsSpreadOverMoreThanAMinuteDoNotTripTheBreaker() async throws {
        try await Fixture.run(denials: 2) { fixture in
            for _ in 0..<2 {
                #expect(await fixture.denial(.delete, "/work/v1.0/me/x")?.error == "forbidden")
                fixture.time.advance(61)
            }
            #expect(await fixture.denial(.delete, "/work/v1.0/me/x")?.error == "forbidden")
            _ = try await fixture.admit(.get, "/work/v1.0/me")
            #expect(fixture.alerts.messages.isEmpty)
        }
    }

    @Test func denialsWithinAMinuteLockTheProfileAndTellThePerson() async throws {
        try await Fixture.run(denials: 2) { fixture in
            for _ in 0..<3 {
                #expect(await fixture.denial(.delete, "/work/v1.0/me/x")?.error == "forbidden")
                fixture.time.advance(10)
            }
            let locked = try #require(await fixture.denial(.get, "/work/v1.0/me"))
            #expect(locked.status.code == 423)
            #expect(locked.reason.contains("devicegate unlock work"))
            #expect(fixture.alerts.messages.count == 1)
            #expect(fixture.alerts.messages.allSatisfy { !$0.contains("ACCESS-TOKEN-SECRET") })
        }
    }

    /// The event loop's synchronous pass: a cold gatekeeper asks for the hold and the token,
    /// a warm one admits without asking, and what a pass found (the rate limiter's count
    /// included) is kept when the rest is fetched.
    @Test func theSynchronousPassAsksForWhatItCannotKnowAndCountsTheCallOnce() async throws {
        try await Fixture.run(perMinute: 2) { fixture in
            let head = HTTPRequest(method: .get, scheme: nil, authority: nil, path: "/work/v1.0/me", headerFields: [:])
            var audit: [String: AuditValue] = [:]
            var found = AdmissionCore.Lookups()
            guard case .needs(.hold) = fixture.core.attempt(head, refusal: nil, audit: &audit, found: &found) else {
                Issue.record("a hold never read must be read from the store")
                return
            }
            // The async form finishes the decision, keeping what the pass found.
            _ = try await fixture.core.admit(head, refusal: nil, audit: &audit, found: found)
            // Now the hold is known for a second and the token is in memory: no lookup at all.
            var warm = AdmissionCore.Lookups()
            guard case .admitted(let admission) = fixture.core.attempt(head, refusal: nil, audit: &audit, found: &warm) else {
                Issue.record("a warm gatekeeper admits synchronously")
                return
            }
            #expect(admission.url == "https://api.example/base/v1.0/me")
            // Two calls counted (one per admission, not one per pass): the third is refused.
            #expect(await fixture.denial(.get, "/work/v1.0/me")?.error == "rate_limited")
            // A second later the hold must be read again.
            fixture.time.advance(1)
            var stale = AdmissionCore.Lookups()
            guard case .needs(.hold) = fixture.core.attempt(head, refusal: nil, audit: &audit, found: &stale) else {
                Issue.record("a hold read a second ago is read again")
                return
            }
        }
    }

    /// A denial that feeds the breaker says so, and the async form feeds it before refusing.
    @Test func aSynchronousDenialCarriesItsBreakerSignal() async throws {
        try await Fixture.run(denials: 1) { fixture in
            _ = try await fixture.admit(.get, "/work/v1.0/me")
            let head = HTTPRequest(method: .delete, scheme: nil, authority: nil, path: "/work/v1.0/me/x", headerFields: [:])
            var audit: [String: AuditValue] = [:]
            var found = AdmissionCore.Lookups()
            guard case .denied(let denial, trip: .denial?) = fixture.core.attempt(head, refusal: nil, audit: &audit, found: &found) else {
                Issue.record("a policy denial feeds the breaker")
                return
            }
            #expect(denial.error == "forbidden")
        }
    }
}
