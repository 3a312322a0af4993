import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import JWTKit
import Testing

@Suite struct IdentityResolverTests {
    struct Claims: JWTPayload {
        var iss: IssuerClaim
        var sub: SubjectClaim
        var aud: AudienceClaim
        var exp: ExpirationClaim
        var name: String
        var email: String
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    struct Signer {
        let key = ES256PrivateKey()
        var jwks: String {
            let p = key.publicKey.parameters!
            return #"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","alg":"ES256","use":"sig","x":"\#(p.x)","y":"\#(p.y)"}]}"#
        }
        func sign(_ claims: Claims) async throws -> String {
            let keys = JWTKeyCollection()
            await keys.add(ecdsa: key, kid: "k1")
            return try await keys.sign(claims, kid: "k1")
        }
    }

    func resolve(_ claims: (FakeIdentityProvider) -> Claims, signer: Signer = Signer(), servedBy: Signer? = nil) async throws -> (
        Identity?, [String]
    ) {
        let idp = try await FakeIdentityProvider.start()
        defer { Task { await idp.stop() } }
        idp.update { $0.jwks = (servedBy ?? signer).jwks }
        idp.update { $0.issued = 1 }
        let idToken = try await signer.sign(claims(idp))
        let provider = try await ProviderResolver(transport: AsyncHTTPTransport.shared).resolve(idp.profile().provider)
        let tokens = TokenSet(accessToken: Secret(FakeIdentityProvider.accessToken(1)), idToken: Secret(idToken), obtainedAt: Date())
        return await IdentityResolver(transport: AsyncHTTPTransport.shared, time: SystemTimeSource()).resolve(
            tokens, provider: provider, clientID: "agent-cli")
    }

    static func claims(iss: String, aud: String = "agent-cli", exp: Date = Date().addingTimeInterval(600)) -> Claims {
        Claims(
            iss: .init(value: iss), sub: "u-1", aud: .init(value: [aud]), exp: .init(value: exp), name: "Alice Token",
            email: "alice@token.test")
    }

    @Test func aVerifiedIDTokenNamesTheUser() async throws {
        let (identity, notes) = try await resolve { Self.claims(iss: $0.issuer) }
        #expect(identity?.name == "Alice Token")
        #expect(identity?.source == "id_token")
        #expect(notes.isEmpty)
    }

    @Test func anotherAudienceIsNotTrustedAndUserinfoIsAsked() async throws {
        let (identity, notes) = try await resolve { Self.claims(iss: $0.issuer, aud: "someone-else") }
        #expect(identity?.source == "userinfo")
        #expect(identity?.name == "Alice O'Example")
        #expect(notes.joined().contains("audience"))
    }

    @Test func anotherIssuerIsNotTrusted() async throws {
        let (identity, notes) = try await resolve { _ in Self.claims(iss: "https://evil.example") }
        #expect(identity?.source == "userinfo")
        #expect(notes.joined().contains("evil.example"))
    }

    @Test func aTokenSignedWithAnotherKeyIsNotTrusted() async throws {
        let (identity, notes) = try await resolve({ Self.claims(iss: $0.issuer) }, signer: Signer(), servedBy: Signer())
        #expect(identity?.source == "userinfo")
        #expect(notes.joined().contains("signature"))
    }

    @Test func anExpiredTokenIsNotTrusted() async throws {
        let (identity, notes) = try await resolve { Self.claims(iss: $0.issuer, exp: Date().addingTimeInterval(-3600)) }
        #expect(identity?.source == "userinfo")
        #expect(notes.joined().contains("expired"))
    }
}
