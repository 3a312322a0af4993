import Crypto
import JWTKit

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Signs RFC 7523 client assertions (`private_key_jwt`) with a certificate's private key.
///
/// Entra ID identifies the certificate by its SHA-256 thumbprint in the `x5t#S256` header, so
/// the signer keeps the certificate only to compute that thumbprint. Providers that pick the
/// client's key by `kid` (a JWKS with several keys: authlib, Okta, Keycloak) get the profile's
/// `key_id` there; without one no `kid` is sent, since a made-up one matches no key. The private
/// key is read once and held by JWTKit; it never leaves the process.
public struct ClientAssertionSigner: Sendable {
    public static let assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

    let keys: JWTKeyCollection
    /// base64url(SHA-256(certificate DER)).
    public let thumbprint: String
    /// The `kid` header: the profile's `key_id`, or none.
    public let keyID: String?
    let clientID: String

    /// The times are whole seconds: RFC 7519's NumericDate allows fractions, but several
    /// providers refuse them, and JWTKit's date claims would send them.
    struct Claims: JWTPayload {
        var iss: String
        var sub: String
        var aud: [String]
        var jti: String
        var iat: Int64
        var nbf: Int64
        var exp: Int64
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// - Parameters:
    ///   - privateKeyPEM: an RSA (RS256) or P-256 (ES256) private key.
    ///   - certificatePEM: the certificate registered with the provider.
    ///   - keyID: the `kid` the provider knows the key by (the profile's `key_id`), or nil.
    public static func load(privateKeyPEM: Secret, certificatePEM: String, clientID: String, keyID: String? = nil) async throws
        -> ClientAssertionSigner
    {
        guard let der = Self.firstPEMBlock(certificatePEM, label: "CERTIFICATE") else {
            throw Failure(description: "the certificate file holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
        }
        let keys = JWTKeyCollection()
        let kid = keyID.map { JWKIdentifier(string: $0) }
        if let rsa = try? Insecure.RSA.PrivateKey(pem: privateKeyPEM.reveal()) {
            await keys.add(rsa: rsa, digestAlgorithm: .sha256, kid: kid)
        } else if let ec = try? ES256PrivateKey(pem: privateKeyPEM.reveal()) {
            await keys.add(ecdsa: ec, kid: kid)
        } else {
            throw Failure(description: "the private key file holds no usable RSA (2048 bits or more) or P-256 private key in PEM form")
        }
        return ClientAssertionSigner(
            keys: keys, thumbprint: Base64URL.encode(SHA256.hash(data: der)), keyID: keyID, clientID: clientID)
    }

    /// A fresh assertion for one token request, valid five minutes.
    public func assertion(audience: URL, now: Date) async throws -> Secret {
        let seconds = Int64(now.timeIntervalSince1970.rounded(.down))
        let claims = Claims(
            iss: clientID, sub: clientID, aud: [audience.absoluteString], jti: UUID().uuidString, iat: seconds, nbf: seconds - 30,
            exp: seconds + 300)
        var header = JWTHeader()
        header.x5tS256 = thumbprint
        header.typ = "JWT"
        // With no kid, JWTKit signs with the one key and leaves the header without one.
        return Secret(try await keys.sign(claims, kid: keyID.map { JWKIdentifier(string: $0) }, header: header))
    }

    static func firstPEMBlock(_ pem: String, label: String) -> Data? {
        guard let start = pem.firstRange(of: "-----BEGIN \(label)-----"),
            let end = pem[start.upperBound...].firstRange(of: "-----END \(label)-----")
        else { return nil }
        let body = pem[start.upperBound..<end.lowerBound].filter { !$0.isWhitespace }
        return Data(base64Encoded: String(body))
    }

}
