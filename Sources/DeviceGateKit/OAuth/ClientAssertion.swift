import Crypto
import Foundation
import JWTKit

/// Signs RFC 7523 client assertions (`private_key_jwt`) with a certificate's private key.
///
/// Entra ID identifies the certificate by its SHA-256 thumbprint in the `x5t#S256` header, so
/// the signer keeps the certificate only to compute that thumbprint. The private key is read
/// once and held by JWTKit; it never leaves the process.
public struct ClientAssertionSigner: Sendable {
    public static let assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

    let keys: JWTKeyCollection
    /// base64url(SHA-256(certificate DER)).
    public let thumbprint: String
    let clientID: String

    struct Claims: JWTPayload {
        var iss: IssuerClaim
        var sub: SubjectClaim
        var aud: AudienceClaim
        var jti: IDClaim
        var iat: IssuedAtClaim
        var nbf: NotBeforeClaim
        var exp: ExpirationClaim
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// - Parameters:
    ///   - privateKeyPEM: an RSA (RS256) or P-256 (ES256) private key.
    ///   - certificatePEM: the certificate registered with the provider.
    public static func load(privateKeyPEM: Secret, certificatePEM: String, clientID: String) async throws -> ClientAssertionSigner {
        guard let der = Self.firstPEMBlock(certificatePEM, label: "CERTIFICATE") else {
            throw Failure(description: "the certificate file holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
        }
        let keys = JWTKeyCollection()
        if let rsa = try? Insecure.RSA.PrivateKey(pem: privateKeyPEM.reveal()) {
            await keys.add(rsa: rsa, digestAlgorithm: .sha256, kid: "assertion")
        } else if let ec = try? ES256PrivateKey(pem: privateKeyPEM.reveal()) {
            await keys.add(ecdsa: ec, kid: "assertion")
        } else {
            throw Failure(description: "the private key file holds no usable RSA (2048 bits or more) or P-256 private key in PEM form")
        }
        return ClientAssertionSigner(keys: keys, thumbprint: Self.base64URL(Data(SHA256.hash(data: der))), clientID: clientID)
    }

    /// A fresh assertion for one token request, valid five minutes.
    public func assertion(audience: URL, now: Date) async throws -> Secret {
        let claims = Claims(
            iss: .init(value: clientID), sub: .init(value: clientID), aud: .init(value: [audience.absoluteString]),
            jti: .init(value: UUID().uuidString), iat: .init(value: now), nbf: .init(value: now.addingTimeInterval(-30)),
            exp: .init(value: now.addingTimeInterval(300)))
        var header = JWTHeader()
        header.x5tS256 = thumbprint
        header.typ = "JWT"
        return Secret(try await keys.sign(claims, kid: "assertion", header: header))
    }

    static func firstPEMBlock(_ pem: String, label: String) -> Data? {
        guard let start = pem.range(of: "-----BEGIN \(label)-----"),
            let end = pem.range(of: "-----END \(label)-----", range: start.upperBound..<pem.endIndex)
        else { return nil }
        let body = pem[start.upperBound..<end.lowerBound].filter { !$0.isWhitespace }
        return Data(base64Encoded: String(body))
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
