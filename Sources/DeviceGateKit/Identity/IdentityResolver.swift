import JWTKit

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Finds out who signed in: from a verified id_token, else the provider's profile endpoint.
///
/// An id_token's claims are trusted only after its signature is checked against the issuer's
/// JWKS and its `iss`, `aud` and `exp` match; an id_token that fails is not used, and the access
/// token is asked instead (userinfo, Microsoft Graph `/me`, GitHub `/user`).
public struct IdentityResolver: Sendable {
    public let transport: any HTTPTransport
    public let time: any TimeSource

    public init(transport: any HTTPTransport, time: any TimeSource) {
        self.transport = transport
        self.time = time
    }

    /// Claims devicegate reads from an id_token.
    struct IDTokenClaims: JWTPayload {
        var iss: IssuerClaim
        var sub: SubjectClaim?
        var aud: AudienceClaim
        var exp: ExpirationClaim
        var name: String?
        var email: String?
        var preferred_username: String?
        var tid: String?

        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    public enum Failure: Error, Sendable, CustomStringConvertible {
        case idToken(String)
        case profile(String)
        public var description: String {
            switch self {
            case .idToken(let why): "the id_token did not verify: \(why)"
            case .profile(let why): why
            }
        }
    }

    /// Returns the identity, plus the reasons earlier sources were passed over (for `--verbose`
    /// and doctor). Never throws: an unknown identity does not undo a successful sign-in.
    public func resolve(_ tokens: TokenSet, provider: Provider, clientID: String) async -> (Identity?, [String]) {
        var notes: [String] = []
        if let idToken = tokens.idToken, let jwks = provider.metadata.jwksURI {
            do {
                return (try await verifiedIdentity(idToken, jwks: jwks, provider: provider, clientID: clientID), notes)
            } catch {
                notes.append(String(describing: error))
            }
        }
        for endpoint in provider.profileEndpoints {
            do {
                return (try await profile(endpoint, accessToken: tokens.accessToken), notes)
            } catch {
                notes.append(String(describing: error))
            }
        }
        return (nil, notes)
    }

    func verifiedIdentity(_ idToken: Secret, jwks: URL, provider: Provider, clientID: String) async throws -> Identity {
        let response: IncomingResponse
        do {
            response = try await transport.send(OutgoingRequest(method: "GET", url: jwks, headers: [("Accept", "application/json")]))
        } catch { throw Failure.idToken("could not fetch the signing keys: \(error)") }
        guard response.status == 200 else { throw Failure.idToken("\(jwks.redactedForDisplay) answered \(response.shapeForDisplay)") }
        let keys = JWTKeyCollection()
        let claims: IDTokenClaims
        do {
            try await keys.add(jwksJSON: String(decoding: response.body, as: UTF8.self))
            claims = try await keys.verify(idToken.reveal(), as: IDTokenClaims.self)
        } catch {
            throw Failure.idToken("signature check failed (\(Self.reason(error)))")
        }
        let now = time.now()
        guard claims.exp.value.addingTimeInterval(120) > now else { throw Failure.idToken("it expired at \(claims.exp.value)") }
        guard claims.aud.value.contains(clientID) else { throw Failure.idToken("its audience is not this client (\(clientID))") }
        switch provider.issuerCheck {
        case .exact(let issuers):
            guard issuers.contains(where: { Self.sameIssuer($0, claims.iss.value) }) else {
                throw Failure.idToken("it was issued by \(claims.iss.value), not \(issuers.joined(separator: " or "))")
            }
        case .microsoftTenantTemplate:
            guard let tid = claims.tid, claims.iss.value == "https://login.microsoftonline.com/\(tid)/v2.0" else {
                throw Failure.idToken("its issuer \(claims.iss.value) does not match its tenant")
            }
        case .none: break
        }
        return Identity(
            subject: claims.sub?.value, name: claims.name, email: claims.email, username: claims.preferred_username, source: "id_token")
    }

    func profile(_ endpoint: Provider.ProfileEndpoint, accessToken: Secret) async throws -> Identity {
        let url: URL
        let source: String
        var headers: [(name: String, value: String)] = [("Accept", "application/json")]
        switch endpoint {
        case .userinfo(let u): (url, source) = (u, "userinfo")
        case .microsoftGraphMe: (url, source) = (URL(string: "https://graph.microsoft.com/v1.0/me")!, "graph")
        case .githubUser(let u):
            (url, source) = (u, "github")
            headers = [("Accept", "application/vnd.github+json")]
        }
        let response: IncomingResponse
        do {
            response = try await transport.send(
                OutgoingRequest(method: "GET", url: url, headers: headers, authorization: Secret("Bearer " + accessToken.reveal())))
        } catch { throw Failure.profile("\(url.redactedForDisplay): \(error)") }
        guard response.status == 200, let fields = OAuthFields.parseJSON(response.body) else {
            throw Failure.profile("\(url.redactedForDisplay) answered \(response.shapeForDisplay)")
        }
        switch endpoint {
        case .microsoftGraphMe:
            return Identity(
                subject: fields.string("id"), name: fields.string("displayName"),
                email: fields.string("mail") ?? fields.string("userPrincipalName"), username: fields.string("userPrincipalName"),
                source: source)
        case .githubUser:
            return Identity(
                subject: fields.string("id"), name: fields.string("name"), email: fields.string("email"), username: fields.string("login"),
                source: source)
        case .userinfo:
            return Identity(
                subject: fields.string("sub"), name: fields.string("name"), email: fields.string("email"),
                username: fields.string("preferred_username"), source: source)
        }
    }

    static func sameIssuer(_ a: String, _ b: String) -> Bool {
        func trim(_ s: String) -> String { s.hasSuffix("/") ? String(s.dropLast()) : s }
        return trim(a) == trim(b)
    }

    static func reason(_ error: any Error) -> String {
        if let jwt = error as? JWTError { return jwt.reason ?? "\(jwt.errorType)" }
        return "\(type(of: error))"
    }
}
