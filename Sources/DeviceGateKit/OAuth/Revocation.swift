#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Where and how a provider revokes tokens.
public enum RevocationMethod: Sendable, Equatable {
    /// RFC 7009 at this endpoint.
    case rfc7009(URL)
    /// GitHub's `DELETE /applications/{client_id}/token` (client Basic auth, JSON body).
    case github(apiBase: URL)
    /// No endpoint; the reason says what the person can do instead.
    case unsupported(String)
}

/// What one revocation attempt achieved, for the person to read.
public struct RevocationOutcome: Sendable, Equatable {
    public let token: String  // "refresh token", "access token"
    public let revoked: Bool
    public let detail: String
    /// False when the provider offers no way to revoke this token: nothing failed, there was
    /// simply nothing to ask. Only attempted revocations that fail make a logout incomplete.
    public var attempted = true

    public init(token: String, revoked: Bool, detail: String, attempted: Bool = true) {
        self.token = token
        self.revoked = revoked
        self.detail = detail
        self.attempted = attempted
    }

    public static func notOffered(_ token: String, _ detail: String) -> RevocationOutcome {
        RevocationOutcome(token: token, revoked: false, detail: detail, attempted: false)
    }
}

/// Revokes tokens at the provider (RFC 7009, or GitHub's token API).
public struct Revoker: Sendable {
    public let method: RevocationMethod
    public let client: OAuthClient
    public let transport: any HTTPTransport

    public init(method: RevocationMethod, client: OAuthClient, transport: any HTTPTransport) {
        self.method = method
        self.client = client
        self.transport = transport
    }

    /// Revokes the refresh token first, while the access token is live: Glewlwyd needs that
    /// access token as the public client's credential (``Quirks/revocationNeedsBearer(_:)``), and
    /// revoking a refresh token does not revoke its access tokens everywhere.
    public func revoke(_ tokens: TokenSet) async -> [RevocationOutcome] {
        var outcomes: [RevocationOutcome] = []
        if let refresh = tokens.refreshToken {
            outcomes.append(await revoke(refresh, hint: "refresh_token", label: "refresh token", bearer: tokens.accessToken))
        }
        outcomes.append(await revoke(tokens.accessToken, hint: "access_token", label: "access token", bearer: tokens.accessToken))
        return outcomes
    }

    private func revoke(_ token: Secret, hint: String, label: String, bearer: Secret) async -> RevocationOutcome {
        switch method {
        case .unsupported(let why):
            return .notOffered(label, why)
        case .github(let apiBase):
            return await revokeAtGitHub(token, hint: hint, label: label, apiBase: apiBase)
        case .rfc7009(let endpoint):
            var fields: [(String, String)] = [("token", token.reveal()), ("token_type_hint", hint)]
            let authorization = client.authenticate(&fields)
            do {
                var response = try await transport.send(.form(endpoint, fields, authorization: authorization))
                if Quirks.revocationNeedsBearer(response), client.secret == nil {
                    response = try await transport.send(.form(endpoint, fields, authorization: Secret("Bearer " + bearer.reveal())))
                }
                // RFC 7009 §2.2: 200 also for tokens the server no longer knows.
                if response.status == 200 {
                    return RevocationOutcome(token: label, revoked: true, detail: "revoked at \(endpoint.redactedForDisplay)")
                }
                let why = OAuthFields.parse(response).flatMap { OAuthErrorResponse(fields: $0, httpStatus: response.status) }?.description
                return RevocationOutcome(
                    token: label, revoked: false, detail: "\(endpoint.redactedForDisplay) answered " + (why ?? response.shapeForDisplay))
            } catch {
                return RevocationOutcome(token: label, revoked: false, detail: String(describing: error))
            }
        }
    }

    private func revokeAtGitHub(_ token: Secret, hint: String, label: String, apiBase: URL) async -> RevocationOutcome {
        guard hint == "access_token" else {
            return .notOffered(label, "GitHub revokes the grant through its access token")
        }
        guard let secret = client.secret else {
            return .notOffered(
                label, "GitHub's token API needs the OAuth app's client secret; revoke it at https://github.com/settings/applications")
        }
        let url = apiBase.appendingPathComponent("applications").appendingPathComponent(client.id).appendingPathComponent("token")
        let basic = Secret("Basic " + Data("\(client.id):\(secret.reveal())".utf8).base64EncodedString())
        let body: Data? = JSONValue.object(["access_token": .string(token.reveal())]).encoded()
        let request = OutgoingRequest(
            method: "DELETE", url: url,
            headers: [("Accept", "application/vnd.github+json"), ("Content-Type", "application/json")],
            authorization: basic, body: body.map { Secret(String(decoding: $0, as: UTF8.self)) })
        do {
            let response = try await transport.send(request)
            switch response.status {
            case 204: return RevocationOutcome(token: label, revoked: true, detail: "revoked through GitHub's token API")
            case 404: return RevocationOutcome(token: label, revoked: true, detail: "GitHub no longer knew the token")
            default: return RevocationOutcome(token: label, revoked: false, detail: "GitHub answered \(response.shapeForDisplay)")
            }
        } catch {
            return RevocationOutcome(token: label, revoked: false, detail: String(describing: error))
        }
    }
}
