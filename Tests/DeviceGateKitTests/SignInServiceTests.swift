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
}
