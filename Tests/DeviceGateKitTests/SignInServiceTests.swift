import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import NIOConcurrencyHelpers
import Testing

@Suite struct SignInServiceTests {
    final class Capture: Sendable {
        let text = NIOLockedValueBox("")
        func write(_ s: String) { text.withLockedValue { $0 += s + "\n" } }
    }

    struct ChatDown: Error {}
    struct Failing: SignInNotifier {
        let name = "broken"
        func notify(_ event: SignInEvent) async throws { throw ChatDown() }
    }

    static func leaked(_ output: String) -> [String] {
        let secrets =
            [FakeIdentityProvider.deviceCode]
            + (1...4).flatMap { [FakeIdentityProvider.accessToken($0), FakeIdentityProvider.refreshToken($0)] }
        return secrets.filter(output.contains)
    }

    @Test func signsInReportsToEveryNotifierAndLeaksNoSecret() async throws {
        let idp = try await FakeIdentityProvider.start()
        let dir = TemporaryDirectory()
        defer {
            dir.remove()
            Task { await idp.stop() }
        }
        idp.approve()
        let capture = Capture()
        let failures = Capture()
        let console = ConsoleNotifier(showQR: true, isTerminal: false, write: { capture.write($0) })
        let json = JSONLinesNotifier(write: { capture.write($0) })
        let store = try TokenStore(directory: dir.path, keyFile: nil)
        let service = SignInService(
            profile: idp.profile(), store: store, transport: AsyncHTTPTransport.shared, time: ManualTime(),
            notifiers: NotifierFanout([console, Failing(), json], reportFailure: { failures.write($0) }))

        let outcome = try await service.run()
        guard case .signedIn(let entry) = outcome else { Issue.record("expected a sign-in"); return }
        #expect(entry.identity?.displayName == "Alice O'Example (alice@example.test)")
        #expect(try store.load("work")?.tokens.refreshToken?.reveal() == FakeIdentityProvider.refreshToken(1))

        let output = capture.text.withLockedValue { $0 }
        #expect(output.contains("WXYZ-2345"))
        #expect(output.contains(#""event":"device_code""#))
        #expect(output.contains(#""event":"signed_in""#))
        #expect(output.contains("Signed in as Alice O'Example"))
        #expect(Self.leaked(output).isEmpty, "leaked: \(Self.leaked(output))")
        #expect(failures.text.withLockedValue { $0 }.contains("the broken notifier failed"))

        // A second run finds the usable token and starts nothing.
        let before = idp.server.requests(to: "/device").count
        guard case .alreadySignedIn = try await service.run() else { Issue.record("expected already signed in"); return }
        #expect(idp.server.requests(to: "/device").count == before)
    }

    @Test func aDeclinedSignInIsAnnouncedAndStoresNothing() async throws {
        let server = try await LoopbackServer.start { request in
            request.path == "/device"
                ? .json(
                    200,
                    [
                        "device_code": FakeIdentityProvider.deviceCode, "user_code": "U-1", "verification_uri": "https://x/device",
                        "expires_in": 60,
                    ])
                : .json(400, ["error": "access_denied", "error_description": "The user said no"])
        }
        let dir = TemporaryDirectory()
        defer {
            dir.remove()
            Task { await server.stop() }
        }
        let profile = Profile(
            name: "work",
            provider: ProviderSettings(
                kind: .oidc, issuer: server.baseURL.absoluteString,
                endpoints: ProviderMetadata(deviceAuthorizationEndpoint: server.url("/device"), tokenEndpoint: server.url("/token"))),
            clientID: "c", scopes: ["openid"])
        let capture = Capture()
        let store = try TokenStore(directory: dir.path, keyFile: nil)
        let service = SignInService(
            profile: profile, store: store, transport: AsyncHTTPTransport.shared, time: ManualTime(),
            notifiers: NotifierFanout([JSONLinesNotifier(write: { capture.write($0) })]))
        await #expect(throws: DeviceFlowError.self) { _ = try await service.run() }
        let output = capture.text.withLockedValue { $0 }
        #expect(output.contains(#""reason":"declined""#))
        #expect(output.contains("The user said no"))
        #expect(Self.leaked(output).isEmpty)
        #expect(try store.load("work") == nil)
    }

    /// What a captive portal, a proxy or a half-dead provider may answer a poll with. None of it
    /// is an OAuth answer, so none of it says anything about the code.
    static let garbled: [(String, ScriptedResponse)] = [
        (
            "truncated JSON",
            ScriptedResponse(status: 200, headers: [("Content-Type", "application/json")], body: Data(#"{"access_tok"#.utf8))
        ),
        (
            "an HTML page",
            ScriptedResponse(status: 200, headers: [("Content-Type", "text/html")], body: Data("<html>PORTAL-BODY</html>".utf8))
        ),
        ("an empty 200", .empty(200)),
        ("a 200 without access_token", .json(200, ["token_type": "Bearer", "note": "PORTAL-BODY"])),
        ("a 200 with an empty access_token", .json(200, ["access_token": "", "token_type": "Bearer"])),
        ("a non-JSON 400", ScriptedResponse(status: 400, headers: [("Content-Type", "text/plain")], body: Data("PORTAL-BODY".utf8))),
        (
            "a non-JSON 403",
            ScriptedResponse(status: 403, headers: [("Content-Type", "text/html")], body: Data("<h1>PORTAL-BODY</h1>".utf8))
        ),
        ("an empty 401", .empty(401)),
        ("an HTML 502", ScriptedResponse(status: 502, headers: [("Content-Type", "text/html")], body: Data("PORTAL-BODY".utf8))),
        ("a JSON 400 without error", .json(400, ["message": "PORTAL-BODY"])),
    ]

    @Test(arguments: garbled.indices)
    func aGarbledAnswerWhilePollingIsRetriedUntilTheSignInSucceeds(index: Int) async throws {
        let (what, answer) = Self.garbled[index]
        let idp = try await FakeIdentityProvider.start()
        let dir = TemporaryDirectory()
        defer {
            dir.remove()
            Task { await idp.stop() }
        }
        idp.update { $0.scriptedPolls = [answer, answer] }
        idp.approve()
        let capture = Capture()
        let time = ManualTime()
        let store = try TokenStore(directory: dir.path, keyFile: nil)
        let service = SignInService(
            profile: idp.profile(), store: store, transport: AsyncHTTPTransport.shared, time: time,
            notifiers: NotifierFanout([JSONLinesNotifier(write: { capture.write($0) })]))

        let outcome = try await service.run()
        guard case .signedIn = outcome else { Issue.record("\(what): expected a sign-in"); return }
        #expect(try store.load("work")?.tokens.accessToken.reveal() == FakeIdentityProvider.accessToken(1), "\(what)")
        #expect(idp.server.requests(to: "/token").count == 3, "\(what): two garbled answers, then the tokens")
        // The device's interval is 1 s: 1.2 s, then backoff from there, doubling.
        #expect(time.sleeps == [1.2, 1.2, 2.4], "\(what)")
        let output = capture.text.withLockedValue { $0 }
        #expect(output.contains(#""event":"warning""#), "\(what): the person is told")
        #expect(!output.contains("PORTAL-BODY"), "\(what): the body is not repeated")
        #expect(output.contains(#""event":"signed_in""#), "\(what)")
        #expect(Self.leaked(output).isEmpty)
    }
}
