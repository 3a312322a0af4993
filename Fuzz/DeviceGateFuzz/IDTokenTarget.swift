import Crypto
import DeviceGateKit
import Foundation

/// id_tokens and JWKS through IdentityResolver's public path: the signature check against the
/// provider's keys, then `iss`/`aud`/`exp` (and Microsoft's tenant template), then the profile
/// endpoint fallback. The first input byte picks what the rest is:
/// 0 an id_token as sent; 1 its claims JSON, signed here with the fixed key (so the claim checks
/// are reached); 2 the provider's JWKS, with a valid id_token; 3 a userinfo / Graph answer.
enum IDTokenTarget {
    static let clientID = "fuzz-client"
    static let signingKey = try! P256.Signing.PrivateKey(rawRepresentation: Data((0..<32).map { UInt8(200 - $0) }))

    static let jwks: Data = {
        let raw = signingKey.publicKey.rawRepresentation
        let (x, y) = (base64URL(raw.prefix(32)), base64URL(raw.suffix(32)))
        return Data(#"{"keys":[{"kty":"EC","crv":"P-256","kid":"fuzz","use":"sig","alg":"ES256","x":"\#(x)","y":"\#(y)"}]}"#.utf8)
    }()

    static let providers: [Provider] = runBlocking {
        let resolver = ProviderResolver(transport: CannedTransport())
        var found: [Provider] = []
        for kind in [ProviderKind.google, .microsoft] {
            do { found.append(try await resolver.resolve(ProviderSettings(kind: kind))) } catch {
                fatalError("fuzz setup: the \(kind) preset does not resolve offline: \(error)")
            }
        }
        return found
    }

    static let validClaims = Data(
        #"{"iss":"https://accounts.google.com","aud":"fuzz-client","sub":"1","exp":1800003600,"name":"Fuzz","email":"f@example.test"}"#
            .utf8)

    static func run(_ data: Data) {
        var reader = InputReader(data)
        let mode = reader.byte() % 4
        let provider = providers[Int(reader.byte()) % providers.count]
        var keys = jwks
        var idToken: String?
        var profileAnswer = IncomingResponse(status: 404, headers: [], body: Data())
        switch mode {
        case 0: idToken = reader.restText
        case 1: idToken = sign(reader.rest)
        case 2: (keys, idToken) = (reader.rest, sign(validClaims))
        default: profileAnswer = IncomingResponse(status: 200, headers: [("Content-Type", "application/json")], body: reader.rest)
        }
        let keysAnswer = IncomingResponse(status: 200, headers: [("Content-Type", "application/json")], body: keys)
        var byURL: [String: IncomingResponse] = [:]
        if let url = provider.metadata.jwksURI { byURL[url.absoluteString] = keysAnswer }
        let transport = CannedTransport([profileAnswer, profileAnswer], byURL: byURL)
        let tokens = TokenSet(
            accessToken: Secret("fuzz-access"), idToken: idToken.map(Secret.init), tokenType: "Bearer", scopes: ["openid"],
            expiresAt: nil, obtainedAt: FuzzFixtures.now)
        let (identity, _) = runBlocking {
            await IdentityResolver(transport: transport, time: FuzzTime()).resolve(tokens, provider: provider, clientID: clientID)
        }
        _ = identity?.displayName
    }

    /// A compact ES256 JWS over `claims`, exactly as given.
    static func sign(_ claims: Data) -> String {
        let input = base64URL(Data(#"{"alg":"ES256","kid":"fuzz","typ":"JWT"}"#.utf8)) + "." + base64URL(claims)
        guard let signature = try? signingKey.signature(for: Data(input.utf8)) else { return input }
        return input + "." + base64URL(signature.rawRepresentation)
    }

    static func base64URL<D: DataProtocol>(_ data: D) -> String {
        Data(data).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
