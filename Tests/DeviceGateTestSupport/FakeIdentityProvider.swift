import DeviceGateKit
import Foundation
import NIOConcurrencyHelpers

/// A small OAuth server on loopback that behaves like a rotating-refresh-token provider:
/// device codes that wait for `approve()`, refresh tokens that die on first use, a userinfo
/// endpoint, and counters tests can assert on. For unit tests; integration tests use Glewlwyd.
public final class FakeIdentityProvider: Sendable {
    public struct State: Sendable {
        public var approved = false
        public var refreshes = 0
        public var issued = 0
        public var liveRefreshToken: String?
        public var expiresIn = 3600
        public var refreshAnswer: ScriptedResponse?
        /// Answers to device-code polls, one each, before the provider answers normally.
        public var scriptedPolls: [ScriptedResponse] = []
        public var jwks: String?
        public var idTokenFactory: (@Sendable () -> String)?
    }

    public let server: LoopbackServer
    private let state: NIOLockedValueBox<State>

    /// Secrets this provider hands out, for leak checks.
    public static let deviceCode = "DEVICE-CODE-SECRET-7f3a"
    public static func accessToken(_ n: Int) -> String { "ACCESS-TOKEN-SECRET-\(n)" }
    public static func refreshToken(_ n: Int) -> String { "REFRESH-TOKEN-SECRET-\(n)" }

    public var snapshot: State { state.withLockedValue { $0 } }
    public func update(_ body: @Sendable (inout State) -> Void) { state.withLockedValue(body) }
    public func approve() { update { $0.approved = true } }

    public var issuer: String { server.baseURL.absoluteString }

    /// An `oidc` profile with explicit endpoints (no discovery round trip).
    public func profile(_ name: String = "work", minimumTTL: Int = 300) -> Profile {
        Profile(
            name: name,
            provider: ProviderSettings(
                kind: .oidc, issuer: issuer,
                endpoints: ProviderMetadata(
                    deviceAuthorizationEndpoint: server.url("/device"), tokenEndpoint: server.url("/token"),
                    revocationEndpoint: server.url("/revoke"), userinfoEndpoint: server.url("/userinfo"), jwksURI: server.url("/jwks"))),
            clientID: "agent-cli", scopes: ["openid", "email"], minimumTTL: minimumTTL)
    }

    public static func start() async throws -> FakeIdentityProvider {
        let state = NIOLockedValueBox(State())
        let server = try await LoopbackServer.start { request in
            switch request.path {
            case "/device":
                return .json(
                    200,
                    [
                        "device_code": deviceCode, "user_code": "WXYZ-2345", "verification_uri": "https://idp.test/device",
                        "expires_in": 600, "interval": 1,
                    ])
            case "/token":
                return Self.token(request, state)
            case "/userinfo":
                let live = state.withLockedValue { s in (1...max(s.issued, 1)).map(accessToken) }
                guard let auth = request.header("Authorization"), live.contains(where: { auth == "Bearer \($0)" }) else {
                    return .empty(401)
                }
                return .json(200, ["sub": "u-1", "name": "Alice O'Example", "email": "alice@example.test"])
            case "/jwks":
                return state.withLockedValue { $0.jwks }.map {
                    ScriptedResponse(status: 200, headers: [("Content-Type", "application/json")], body: Data($0.utf8))
                } ?? .empty(404)
            case "/revoke":
                return .empty(200)
            default:
                return .empty(404)
            }
        }
        return FakeIdentityProvider(server: server, state: state)
    }

    private init(server: LoopbackServer, state: NIOLockedValueBox<State>) {
        self.server = server
        self.state = state
    }

    static func token(_ request: RecordedRequest, _ state: NIOLockedValueBox<State>) -> ScriptedResponse {
        let form = request.form
        return state.withLockedValue { s in
            switch form["grant_type"] {
            case DeviceFlow.grantType:
                guard form["device_code"] == deviceCode else { return .json(400, ["error": "invalid_grant"]) }
                if !s.scriptedPolls.isEmpty { return s.scriptedPolls.removeFirst() }
                guard s.approved else { return .json(400, ["error": "authorization_pending"]) }
                return issue(&s, idToken: s.idTokenFactory?())
            case "refresh_token":
                s.refreshes += 1
                if let scripted = s.refreshAnswer { return scripted }
                guard let presented = form["refresh_token"], presented == s.liveRefreshToken else { return .empty(400) }  // rotated away
                return issue(&s, idToken: nil)
            default:
                return .json(400, ["error": "unsupported_grant_type"])
            }
        }
    }

    static func issue(_ s: inout State, idToken: String?) -> ScriptedResponse {
        s.issued += 1
        s.liveRefreshToken = refreshToken(s.issued)
        var body: [String: Any] = [
            "access_token": accessToken(s.issued), "refresh_token": refreshToken(s.issued), "token_type": "bearer",
            "expires_in": s.expiresIn, "scope": "openid email",
        ]
        if let idToken { body["id_token"] = idToken }
        return .json(200, body)
    }

    public func stop() async { await server.stop() }
}
