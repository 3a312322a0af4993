import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

@Suite struct ProviderTests {
    let resolver = ProviderResolver(transport: AsyncHTTPTransport.shared)

    @Test func presetsNeedNoNetwork() async throws {
        let ms = try await resolver.resolve(ProviderSettings(kind: .microsoft, tenant: "organizations"))
        #expect(
            ms.metadata.deviceAuthorizationEndpoint?.absoluteString
                == "https://login.microsoftonline.com/organizations/oauth2/v2.0/devicecode")
        #expect(ms.issuerCheck == .microsoftTenantTemplate)
        if case .unsupported = ms.revocation {} else { Issue.record("Microsoft has no revocation endpoint") }

        let google = try await resolver.resolve(ProviderSettings(kind: .google))
        #expect(google.metadata.deviceAuthorizationEndpoint?.absoluteString == "https://oauth2.googleapis.com/device/code")
        #expect(google.revocation == .rfc7009(URL(string: "https://oauth2.googleapis.com/revoke")!))

        let github = try await resolver.resolve(ProviderSettings(kind: .github))
        #expect(github.metadata.tokenEndpoint?.absoluteString == "https://github.com/login/oauth/access_token")
        #expect(github.revocation == .github(apiBase: URL(string: "https://api.github.com")!))

        let auth0 = try await resolver.resolve(ProviderSettings(kind: .auth0, domain: "acme.eu.auth0.com"))
        #expect(auth0.metadata.deviceAuthorizationEndpoint?.absoluteString == "https://acme.eu.auth0.com/oauth/device/code")

        let okta = try await resolver.resolve(ProviderSettings(kind: .okta, domain: "acme.okta.com"))
        #expect(okta.metadata.deviceAuthorizationEndpoint?.absoluteString == "https://acme.okta.com/oauth2/default/v1/device/authorize")
        let oktaOrg = try await resolver.resolve(ProviderSettings(kind: .okta, domain: "acme.okta.com", authorizationServer: "org"))
        #expect(oktaOrg.metadata.tokenEndpoint?.absoluteString == "https://acme.okta.com/oauth2/v1/token")

        let kc = try await resolver.resolve(ProviderSettings(kind: .keycloak, baseURL: "https://sso.acme.test/", realm: "agents"))
        #expect(
            kc.metadata.deviceAuthorizationEndpoint?.absoluteString
                == "https://sso.acme.test/realms/agents/protocol/openid-connect/auth/device")
        #expect(kc.issuerCheck == .exact(["https://sso.acme.test/realms/agents"]))
    }

    @Test func explicitEndpointsOverridePresets() async throws {
        let custom = URL(string: "https://proxy.acme.test/token")!
        let p = try await resolver.resolve(ProviderSettings(kind: .github, endpoints: ProviderMetadata(tokenEndpoint: custom)))
        #expect(p.metadata.tokenEndpoint == custom)
    }

    @Test func discoveryFallsBackToRFC8414() async throws {
        let server = try await LoopbackServer.start { request in
            switch request.path {
            case "/.well-known/oauth-authorization-server/tenant1":
                return .json(
                    200,
                    [
                        "issuer": "http://127.0.0.1/tenant1", "token_endpoint": "http://127.0.0.1/t/token",
                        "device_authorization_endpoint": "http://127.0.0.1/t/device",
                    ])
            default:
                return .html(404)
            }
        }
        defer { Task { await server.stop() } }
        let p = try await resolver.resolve(ProviderSettings(kind: .oidc, issuer: server.url("/tenant1").absoluteString))
        #expect(p.metadata.deviceAuthorizationEndpoint?.absoluteString == "http://127.0.0.1/t/device")
        #expect(
            server.requests.map(\.path) == ["/tenant1/.well-known/openid-configuration", "/.well-known/oauth-authorization-server/tenant1"])
    }

    @Test func failedDiscoverySaysWhatEachPlaceAnswered() async throws {
        let server = try await LoopbackServer.start { _ in .html(500) }
        defer { Task { await server.stop() } }
        await #expect {
            _ = try await resolver.resolve(ProviderSettings(kind: .oidc, issuer: server.url("/api/oidc").absoluteString))
        } throws: { error in
            let text = "\(error)"
            return text.contains("could not discover") && text.contains("HTTP 500 with a text/html body")
                && text.contains("Check the issuer URL")
        }
    }

    @Test func anIssuerWithoutDeviceFlowIsExplained() async throws {
        let server = try await LoopbackServer.start { _ in .json(200, ["issuer": "x", "token_endpoint": "http://127.0.0.1/token"]) }
        defer { Task { await server.stop() } }
        let p = try await resolver.resolve(ProviderSettings(kind: .oidc, issuer: server.baseURL.absoluteString))
        #expect { _ = try p.deviceAuthorizationEndpoint() } throws: { "\($0)".contains("does not offer the device sign-in") }
    }
}

@Suite struct RevocationTests {
    static let tokens = TokenSet(accessToken: Secret("AT-live"), refreshToken: Secret("RT-1"), obtainedAt: Date())

    @Test func publicClientRetriesWithTheLiveAccessTokenAfter401() async throws {
        let server = try await LoopbackServer.start { request in
            request.header("Authorization") == "Bearer AT-live" ? .empty(200) : .empty(401)
        }
        defer { Task { await server.stop() } }
        let outcomes = await Revoker(
            method: .rfc7009(server.url("/revoke")), client: OAuthClient(id: "cli"), transport: AsyncHTTPTransport.shared
        ).revoke(Self.tokens)
        #expect(outcomes.map(\.token) == ["refresh token", "access token"])
        #expect(outcomes.allSatisfy { $0.revoked })
        let forms = server.requests.map(\.form)
        #expect(forms[0]["token"] == "RT-1" && forms[0]["token_type_hint"] == "refresh_token" && forms[0]["client_id"] == "cli")
        #expect(forms.last?["token"] == "AT-live")
    }

    @Test func confidentialClientsUseBasicAndFailuresAreReported() async throws {
        let server = try await LoopbackServer.start { _ in .json(400, ["error": "unsupported_token_type"]) }
        defer { Task { await server.stop() } }
        let client = OAuthClient(id: "svc", secret: Secret("pw"), authentication: .basic)
        let outcomes = await Revoker(method: .rfc7009(server.url("/revoke")), client: client, transport: AsyncHTTPTransport.shared).revoke(
            Self.tokens)
        #expect(outcomes.allSatisfy { !$0.revoked && $0.detail.contains("unsupported_token_type") })
        #expect(server.requests[0].header("Authorization") == "Basic " + Data("svc:pw".utf8).base64EncodedString())
        #expect(!outcomes.map(\.detail).joined().contains("pw"))
    }

    @Test func githubUsesItsTokenAPI() async throws {
        let server = try await LoopbackServer.start { request in
            request.method == "DELETE" && request.path == "/applications/Iv1.abc/token" && request.body.contains("AT-live")
                ? .empty(204) : .empty(422)
        }
        defer { Task { await server.stop() } }
        let outcomes = await Revoker(
            method: .github(apiBase: server.baseURL), client: OAuthClient(id: "Iv1.abc", secret: Secret("gh-secret")),
            transport: AsyncHTTPTransport.shared
        )
        .revoke(TokenSet(accessToken: Secret("AT-live"), obtainedAt: Date()))
        #expect(outcomes.count == 1 && outcomes[0].revoked)
        let without = await Revoker(
            method: .github(apiBase: server.baseURL), client: OAuthClient(id: "Iv1.abc"), transport: AsyncHTTPTransport.shared
        )
        .revoke(TokenSet(accessToken: Secret("AT-live"), obtainedAt: Date()))
        #expect(!without[0].revoked && without[0].detail.contains("github.com/settings/applications"))
    }

    @Test func unsupportedRevocationSaysWhatToDo() async {
        let outcomes = await Revoker(
            method: .unsupported("no endpoint; revoke sessions at https://myaccount.microsoft.com"), client: OAuthClient(id: "c"),
            transport: AsyncHTTPTransport.shared
        )
        .revoke(Self.tokens)
        #expect(outcomes.allSatisfy { !$0.revoked && $0.detail.contains("myaccount") })
    }
}
