import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

/// The real `devicegate` binary against the real Glewlwyd, with a script playing the person.
@Suite(.serialized) struct SignInTests {
    @Test func loginTokenRefreshLogoutAgainstGlewlwyd() throws {
        let idp = try LocalIdP.load()
        let box = Sandbox(idp: idp)
        defer { box.remove() }
        var outputs: [String] = []

        // login + approve
        let login = try box.login("work") { try idp.approve($0) }
        outputs += [login.result.stdout, login.result.stderr]
        #expect(login.result.status == 0, "login: \(login.result.stderr)")
        let signedIn = try #require(login.events.first { $0["event"] as? String == "signed_in" })
        #expect(signedIn["name"] as? String == "Alice Example")
        #expect(signedIn["email"] as? String == "alice@example.test")
        #expect(signedIn["scopes"] as? [String] == ["openid", "profile", "email", "mail.read"])
        let code = try #require(login.events.first)
        #expect(code["event"] as? String == "device_code")
        #expect((code["verification_uri"] as? String)?.hasPrefix(idp.issuer) == true)
        #expect(login.result.stderr.contains("Signed in as Alice Example (alice@example.test)"))
        let first = try #require(try box.store().load("work"))
        #expect(first.identity?.source == "id_token")  // the RS256 signature checked against Glewlwyd's JWKS

        // already signed in: no new flow
        let again = try box.run("login", "work", "--json")
        outputs += [again.stdout, again.stderr]
        #expect(again.status == 0)
        #expect(again.stdout.contains(#""event":"already_signed_in""#))

        // token: the cached one, live at the provider
        let token = try box.run("token", "work")
        outputs.append(token.stderr)
        #expect(token.status == 0)
        #expect(token.stdout == first.tokens.accessToken.reveal() + "\n")
        #expect(try idp.isActive(first.tokens.accessToken))

        // a forced refresh rotates the refresh token; the old one is dead at once
        let refreshed = try box.run("token", "work", "--min-ttl", "999999")
        outputs.append(refreshed.stderr)
        #expect(refreshed.status == 0, "refresh: \(refreshed.stderr)")
        let second = try #require(try box.store().load("work"))
        #expect(refreshed.stdout == second.tokens.accessToken.reveal() + "\n")
        #expect(second.tokens.accessToken != first.tokens.accessToken)
        #expect(second.tokens.refreshToken != first.tokens.refreshToken)
        #expect(try !idp.isActive(try #require(first.tokens.refreshToken)))
        #expect(try idp.isActive(try #require(second.tokens.refreshToken)))
        #expect(second.identity?.name == "Alice Example")  // kept across refreshes

        // status
        let status = try box.run("status", "work", "--json")
        outputs += [status.stdout, status.stderr]
        #expect(status.status == 0)
        let statusObject = try #require(Sandbox.json(status.stdout))
        #expect(statusObject["signed_in"] as? Bool == true)
        #expect(statusObject["has_refresh_token"] as? Bool == true)
        #expect((statusObject["store"] as? [String: String])?["encryption"] == "AES-256-GCM")

        // logout revokes at Glewlwyd, then the store is empty
        let logout = try box.run("logout", "work")
        outputs += [logout.stdout, logout.stderr]
        #expect(logout.status == 0, "logout: \(logout.stderr)")
        #expect(logout.stderr.contains("✓ refresh token: revoked"))
        #expect(try !idp.isActive(second.tokens.accessToken))
        #expect(try !idp.isActive(try #require(second.tokens.refreshToken)))
        let after = try box.run("token", "work")
        outputs.append(after.stderr)
        #expect(after.status == 3)
        #expect(after.stderr.contains("devicegate login work"))

        // No secret reached any output (token's own stdout excepted).
        let secrets = [first, second].flatMap { [$0.tokens.accessToken, $0.tokens.refreshToken, $0.tokens.idToken] }.compactMap {
            $0?.reveal()
        }
        #expect(secrets.count == 6)
        for output in outputs {
            for secret in secrets { #expect(!output.contains(secret), "a token leaked into command output") }
        }
    }

    @Test func aDeclinedSignInExitsTwo() throws {
        let idp = try LocalIdP.load()
        let box = Sandbox(idp: idp)
        defer { box.remove() }
        let login = try box.login("work") { code in
            let denied = try idp.script("deny", [code])
            #expect(denied.status == 0, "deny: \(denied.stderr)")
        }
        #expect(login.result.status == 2)
        let failed = try #require(login.events.last)
        #expect(failed["event"] as? String == "failed")
        #expect(failed["reason"] as? String == "declined")
        #expect(try box.store().load("work") == nil)
    }

    @Test func anUnapprovedCodeExpiresAndExitsTwo() throws {
        let idp = try LocalIdP.load()
        let box = Sandbox(idp: idp)
        defer { box.remove() }
        let started = Date()
        let login = try box.login("short") { _ in }  // nobody approves; the code lives 4 s
        #expect(login.result.status == 2)
        #expect(login.events.last?["reason"] as? String == "expired")
        #expect(login.result.stderr.contains("expired"))
        #expect(Date().timeIntervalSince(started) < 30)
    }

    @Test func concurrentProcessesRefreshExactlyOnceUnderRotation() async throws {
        let idp = try LocalIdP.load()
        let box = Sandbox(idp: idp)
        defer { box.remove() }
        let login = try box.login("work") { try idp.approve($0) }
        try #require(login.result.status == 0)
        // Make the stored access token stale, as time would.
        let store = try box.store()
        var entry = try #require(try store.load("work"))
        entry.tokens.expiresAt = Date().addingTimeInterval(-60)
        try store.save(entry)

        // Glewlwyd kills a refresh token on first use: a second refresh with it would fail.
        let results = try await withThrowingTaskGroup(of: ProcessResult.self) { group in
            for _ in 0..<6 { group.addTask { try box.run("token", "work") } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.allSatisfy { $0.status == 0 }, "\(results.map(\.stderr))")
        #expect(Set(results.map(\.stdout)).count == 1, "every process got the one refreshed token")
        let after = try #require(try store.load("work"))
        #expect(results.first?.stdout == after.tokens.accessToken.reveal() + "\n")
        #expect(after.tokens.accessToken != entry.tokens.accessToken)
        #expect(try idp.isActive(try #require(after.tokens.refreshToken)))
    }

    @Test func pollingTooFastMeetsSlowDownAndRecovers() async throws {
        let idp = try LocalIdP.load()
        // Sleep a twentieth of what the engine asks for: Glewlwyd answers slow_down to polls less
        // than its interval apart, and the engine must widen its interval and still succeed.
        struct Hasty: TimeSource {
            func now() -> Date { Date() }
            func sleep(seconds: Double) async throws { try await Task.sleep(nanoseconds: UInt64(seconds / 20 * 1_000_000_000)) }
        }
        let provider = try await ProviderResolver(transport: AsyncHTTPTransport.shared).resolve(
            ProviderSettings(kind: .oidc, issuer: idp.issuer))
        let flow = DeviceFlow(
            deviceAuthorizationEndpoint: try provider.deviceAuthorizationEndpoint(), tokenEndpoint: try provider.tokenEndpoint(),
            client: OAuthClient(id: idp.publicClient), transport: AsyncHTTPTransport.shared, time: Hasty())
        let code = try await flow.requestCode(scopes: ["openid"])
        let seen = ProgressLog()
        let approver = Task {
            try await Task.sleep(nanoseconds: 1_500_000_000)
            try idp.approve(code.userCode)
        }
        let tokens = try await flow.waitForTokens(code, requestedScopes: ["openid"]) { await seen.add($0) }
        try await approver.value
        #expect(!tokens.accessToken.isEmpty)
        let progress = await seen.items
        #expect(progress.contains { if case .slowedDown = $0 { true } else { false } }, "\(progress)")
    }
}

actor ProgressLog {
    var items: [DeviceFlow.Progress] = []
    func add(_ p: DeviceFlow.Progress) { items.append(p) }
}
