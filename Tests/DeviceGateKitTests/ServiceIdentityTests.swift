import Crypto
import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import JWTKit
import Testing

@Suite struct ClientCredentialsTests {
    static func tokenServer(_ check: @escaping @Sendable (RecordedRequest) async -> Bool) async throws -> LoopbackServer {
        try await LoopbackServer.start { request in
            guard request.form["grant_type"] == "client_credentials" else { return .json(400, ["error": "unsupported_grant_type"]) }
            guard await check(request) else { return .empty(403) }
            return .json(
                200, ["access_token": "CC-TOKEN", "token_type": "Bearer", "expires_in": "3600", "scope": request.form["scope"] ?? ""])
        }
    }

    @Test func secretInTheBodyOrAsBasic() async throws {
        let server = try await Self.tokenServer { request in
            request.form["client_secret"] == "s3cret"
                || request.header("Authorization") == "Basic " + Data("svc:s3cret".utf8).base64EncodedString()
        }
        defer { Task { await server.stop() } }
        for method in [OAuthClient.Authentication.post, .basic] {
            let grant = TokenEndpoint(
                url: server.url("/token"), client: OAuthClient(id: "svc", secret: Secret("s3cret"), authentication: method),
                transport: AsyncHTTPTransport.shared, time: ManualTime())
            let tokens = try await grant.clientCredentials(scopes: ["api://x/.default"])
            #expect(tokens.accessToken.reveal() == "CC-TOKEN")
            #expect(tokens.expiresAt == ManualTime().now().addingTimeInterval(3600))
            #expect(tokens.refreshToken == nil)
        }
        #expect(server.requests[0].form["client_secret"] == "s3cret")
        #expect(server.requests[1].form["client_secret"] == nil)
    }

    @Test func aWrongSecretIsExplainedWithoutTheSecret() async throws {
        let server = try await Self.tokenServer { _ in false }
        defer { Task { await server.stop() } }
        let grant = TokenEndpoint(
            url: server.url("/token"), client: OAuthClient(id: "svc", secret: Secret("wrong-one"), authentication: .basic),
            transport: AsyncHTTPTransport.shared, time: ManualTime())
        await #expect {
            _ = try await grant.clientCredentials(scopes: [])
        } throws: { error in
            "\(error)".contains("refused the client credentials") && !"\(error)".contains("wrong-one")
        }
    }

    /// A certificate made by openssl, as a person registering one with Entra ID would: RSA, or
    /// P-256 (ES256) with `ec`.
    static func certificate(in dir: TemporaryDirectory, ec: Bool = false) throws -> (key: String, cert: String) {
        let result = Process()
        result.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        result.arguments =
            ["req", "-x509", "-newkey"] + (ec ? ["ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"] : ["rsa:2048"]) + [
                "-nodes", "-keyout", dir.file("key.pem"), "-out", dir.file("cert.pem"), "-subj", "/CN=devicegate-test", "-days", "1",
            ]
        result.standardError = FileHandle.nullDevice
        try result.run()
        result.waitUntilExit()
        try #require(result.terminationStatus == 0)
        return (dir.file("key.pem"), dir.file("cert.pem"))
    }

    struct AssertionClaims: JWTPayload {
        var iss: IssuerClaim
        var sub: SubjectClaim
        var aud: AudienceClaim
        var jti: IDClaim
        var exp: ExpirationClaim
        var nbf: NotBeforeClaim
        func verify(using algorithm: some JWTAlgorithm) async throws {
            try exp.verifyNotExpired()
            try nbf.verifyNotBefore()
        }
    }

    @Test func privateKeyJWTIsSignedWithTheCertificateKeyAndNamesItsThumbprint() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (keyPath, certPath) = try Self.certificate(in: dir)
        let certPEM = try String(contentsOfFile: certPath, encoding: .utf8)
        // The token endpoint verifies as Entra ID does: signature with the registered
        // certificate's key, x5t#S256 matching its thumbprint, and the claims.
        let verifier = JWTKeyCollection()
        await verifier.add(rsa: try Insecure.RSA.PublicKey(certificatePEM: certPEM), digestAlgorithm: .sha256)
        let der = Data(base64Encoded: certPEM.components(separatedBy: "\n").filter { !$0.hasPrefix("-----") }.joined())!
        let thumbprint = Data(SHA256.hash(data: der)).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let server = try await Self.tokenServer { request in
            let form = request.form
            guard form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", form["client_id"] == "app-1",
                let assertion = form["client_assertion"], form["client_secret"] == nil
            else { return false }
            guard let claims = try? await verifier.verify(assertion, as: AssertionClaims.self) else { return false }
            let header =
                try? JSONSerialization.jsonObject(
                    with: Data(
                        base64Encoded: String(assertion.split(separator: ".")[0]).padding(
                            toLength: ((assertion.split(separator: ".")[0].count + 3) / 4) * 4, withPad: "=", startingAt: 0)) ?? Data())
                as? [String: Any]
            return claims.iss.value == "app-1" && claims.sub.value == "app-1"
                && claims.aud.value == [request.header("Host").map { "http://\($0)/token" } ?? ""]
                && !claims.jti.value.isEmpty && header?["x5t#S256"] as? String == thumbprint && header?["alg"] as? String == "RS256"
        }
        defer { Task { await server.stop() } }
        var profile = Profile(
            name: "svc",
            provider: ProviderSettings(
                kind: .oidc, issuer: server.baseURL.absoluteString, endpoints: ProviderMetadata(tokenEndpoint: server.url("/token"))),
            clientID: "app-1")
        profile.grant = .clientCredentials
        profile.privateKeyFile = keyPath
        profile.certificateFile = certPath
        let grant = TokenEndpoint(
            url: server.url("/token"), client: try await profile.oauthClient(), transport: AsyncHTTPTransport.shared,
            time: SystemTimeSource())
        #expect(try await grant.clientCredentials(scopes: ["https://graph.microsoft.com/.default"]).accessToken.reveal() == "CC-TOKEN")
    }

    /// The header and the claims of a compact JWT, as the raw JSON texts a provider parses.
    static func decode(_ jwt: String) throws -> (header: String, claims: String) {
        let parts = jwt.split(separator: ".").map(String.init)
        try #require(parts.count == 3)
        func text(_ part: String) throws -> String {
            var base64 = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
            return String(decoding: try #require(Data(base64Encoded: base64)), as: UTF8.self)
        }
        return (try text(parts[0]), try text(parts[1]))
    }

    @Test(arguments: [false, true])
    func theAssertionHasNoKidUnlessConfiguredAndWholeSecondTimes(ec: Bool) async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let (keyPath, certPath) = try Self.certificate(in: dir, ec: ec)
        let key = try SecretSource.file(keyPath).load()
        let cert = try String(contentsOfFile: certPath, encoding: .utf8)
        let now = Date(timeIntervalSince1970: 1_800_000_000.75)
        let audience = URL(string: "https://idp.test/token")!

        let plain = try await ClientAssertionSigner.load(privateKeyPEM: key, certificatePEM: cert, clientID: "app-1")
        let (header, claims) = try Self.decode(try await plain.assertion(audience: audience, now: now).reveal())
        let headerObject = try #require(try JSONSerialization.jsonObject(with: Data(header.utf8)) as? [String: Any])
        #expect(headerObject["kid"] == nil, "a kid no provider knows: \(header)")
        #expect(headerObject["alg"] as? String == (ec ? "ES256" : "RS256"))
        #expect(headerObject["x5t#S256"] as? String == plain.thumbprint)
        // NumericDate as integers, in the raw JSON: no fraction, no exponent.
        for (name, value) in [("iat", 1_800_000_000), ("nbf", 1_799_999_970), ("exp", 1_800_000_300)] {
            #expect(claims.contains("\"\(name)\":\(value),") || claims.contains("\"\(name)\":\(value)}"), "\(name) in \(claims)")
        }
        let claimsObject = try #require(try JSONSerialization.jsonObject(with: Data(claims.utf8)) as? [String: Any])
        #expect(claimsObject["iss"] as? String == "app-1" && claimsObject["sub"] as? String == "app-1")
        #expect(claimsObject["aud"] as? [String] == ["https://idp.test/token"])
        #expect((claimsObject["jti"] as? String)?.isEmpty == false)

        let named = try await ClientAssertionSigner.load(privateKeyPEM: key, certificatePEM: cert, clientID: "app-1", keyID: "key-2025-01")
        let (namedHeader, _) = try Self.decode(try await named.assertion(audience: audience, now: now).reveal())
        let namedObject = try #require(try JSONSerialization.jsonObject(with: Data(namedHeader.utf8)) as? [String: Any])
        #expect(namedObject["kid"] as? String == "key-2025-01")
    }

    @Test func keyIDIsReadFromTheProfileAndChecked() throws {
        let base =
            "[profiles.s]\ngrant = \"client_credentials\"\nprovider = \"oidc\"\nissuer = \"https://idp.test\"\nclient_id = \"c\"\n"
        let keys = "private_key_file = \"/k\"\ncertificate_file = \"/c\"\n"
        let config = try ConfigLoader(environment: [:]).parse(base + keys + "key_id = \"key-1\"\n", path: nil)
        #expect(try config.profile(named: "s").keyID == "key-1")
        #expect(try ConfigLoader(environment: [:]).parse(base + keys, path: nil).profile(named: "s").keyID == nil)
        func error(_ toml: String) -> String {
            do {
                _ = try ConfigLoader(environment: [:]).parse(toml, path: nil)
                return "no error"
            } catch { return "\(error)" }
        }
        #expect(error(base + "client_secret_env = \"S\"\nkey_id = \"key-1\"\n").contains("set private_key_file"))
        #expect(error(base + keys + "key_id = \"\"\n").contains("key_id must be"))
        #expect(error(base + keys + "key_id = \"a\\u001bb\"\n").contains("key_id must be"))
        #expect(
            error("[profiles.m]\ngrant = \"managed_identity\"\nresource = \"https://x\"\nkey_id = \"k\"\n").contains(
                "does not apply to a managed identity"))
    }

    @Test func aBadKeyFileIsAConfigError() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        var profile = Profile(name: "svc", provider: ProviderSettings(kind: .github), clientID: "c")
        profile.privateKeyFile = dir.write("k.pem", "not a key")
        profile.certificateFile = dir.write("c.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
        await #expect(throws: ConfigError.self) { _ = try await profile.oauthClient() }
    }
}

@Suite struct ManagedIdentityTests {
    func source(
        _ endpoint: FakeManagedIdentityEndpoint, kind: ManagedIdentitySettings.Kind, environment: [String: String] = [:],
        time: ManualTime = ManualTime(), arcDir: String = "/nonexistent", resource: String = "https://graph.microsoft.com",
        clientID: String? = nil
    ) -> ManagedIdentitySource {
        ManagedIdentitySource(
            settings: ManagedIdentitySettings(kind: kind, resource: resource, endpoint: endpoint.url, clientID: clientID),
            environment: environment,
            transport: AsyncHTTPTransport.shared, time: time, arcTokenDirectory: arcDir)
    }

    @Test func imdsWithStringNumbersAndAUserAssignedIdentity() async throws {
        let imds = try await FakeManagedIdentityEndpoint.start(.imds)
        defer { Task { await imds.stop() } }
        let tokens = try await source(imds, kind: .imds, clientID: "uai-1").acquire()
        #expect(tokens.accessToken.reveal() == FakeManagedIdentityEndpoint.token(1))
        #expect(tokens.expiresAt != nil)
        let query = imds.server.requests[0].query ?? ""
        #expect(
            query.contains("api-version=2018-02-01") && query.contains("client_id=uai-1")
                && query.contains("resource=https%3A%2F%2Fgraph.microsoft.com"))
        #expect(imds.server.requests[0].header("Metadata") == "true")
    }

    @Test func appServiceSendsTheIdentityHeaderFromTheEnvironment() async throws {
        let endpoint = try await FakeManagedIdentityEndpoint.start(.appService(header: "rotating-guid-1"))
        defer { Task { await endpoint.stop() } }
        let env = ["IDENTITY_ENDPOINT": endpoint.url.absoluteString, "IDENTITY_HEADER": "rotating-guid-1"]
        let auto = ManagedIdentitySource(
            settings: ManagedIdentitySettings(resource: "https://vault.azure.net"), environment: env, transport: AsyncHTTPTransport.shared,
            time: ManualTime())
        #expect(try auto.resolved().0 == .appService)
        #expect(try await auto.acquire().accessToken.reveal() == FakeManagedIdentityEndpoint.token(1))
        #expect(endpoint.server.requests[0].query?.contains("api-version=2019-08-01") == true)
    }

    @Test func arcAnswersTheKeyFileChallenge() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let keyFile = dir.write("agent.key", "arc-secret-123\n")
        let arc = try await FakeManagedIdentityEndpoint.start(.arc(keyFile: keyFile, secret: "arc-secret-123"))
        defer { Task { await arc.stop() } }
        let tokens = try await source(arc, kind: .arc, arcDir: dir.path).acquire()
        #expect(tokens.accessToken.reveal() == FakeManagedIdentityEndpoint.token(1))
        #expect(arc.server.requests.count == 2)
    }

    @Test func arcRefusesAKeyFileOutsideItsDirectory() async throws {
        let dir = TemporaryDirectory()
        let elsewhere = TemporaryDirectory()
        defer {
            dir.remove()
            elsewhere.remove()
        }
        let keyFile = elsewhere.write("stolen.key", "x")
        let arc = try await FakeManagedIdentityEndpoint.start(.arc(keyFile: keyFile, secret: "x"))
        defer { Task { await arc.stop() } }
        await #expect { _ = try await source(arc, kind: .arc, arcDir: dir.path).acquire() } throws: { "\($0)".contains("outside") }
    }

    @Test func transientAnswersAreRetriedAsAzureDocuments() async throws {
        let imds = try await FakeManagedIdentityEndpoint.start(.imds)
        defer { Task { await imds.stop() } }
        imds.inject([.json(404, ["error": "not_found"]), .json(429, ["error": "throttled"]), .html(500), .json(410, ["error": "gone"])])
        let time = ManualTime()
        let tokens = try await source(imds, kind: .imds, time: time).acquire()
        #expect(tokens.accessToken.reveal() == FakeManagedIdentityEndpoint.token(1))
        #expect(time.sleeps == [2, 6, 14, 10])
    }

    @Test func designTimeErrorsAreNotRetried() async throws {
        let imds = try await FakeManagedIdentityEndpoint.start(.imds)
        defer { Task { await imds.stop() } }
        let time = ManualTime()
        await #expect {
            _ = try await source(imds, kind: .imds, time: time, resource: "graph").acquire()
        } throws: { "\($0)".contains("invalid_resource") && "\($0)".contains("check `resource`") }
        #expect(time.sleeps.isEmpty)
    }

    @Test func autoPicksImdsWithoutEnvironmentAndArcWithImdsEndpoint() throws {
        let plain = ManagedIdentitySource(
            settings: ManagedIdentitySettings(resource: "https://x"), environment: [:], transport: AsyncHTTPTransport.shared,
            time: ManualTime())
        #expect(try plain.resolved().0 == .imds)
        #expect(try plain.resolved().1 == ManagedIdentitySource.imdsEndpoint)
        let arc = ManagedIdentitySource(
            settings: ManagedIdentitySettings(resource: "https://x"),
            environment: [
                "IDENTITY_ENDPOINT": "http://localhost:40342/metadata/identity/oauth2/token", "IMDS_ENDPOINT": "http://localhost:40342",
            ],
            transport: AsyncHTTPTransport.shared, time: ManualTime())
        #expect(try arc.resolved().0 == .arc)
    }

    @Test func theBrokerCachesAServiceTokenAndAsksAgainNearExpiry() async throws {
        let imds = try await FakeManagedIdentityEndpoint.start(.imds, expiresIn: 3600)
        let dir = TemporaryDirectory()
        defer {
            dir.remove()
            Task { await imds.stop() }
        }
        let config = try ConfigLoader(environment: [:]).parse(
            "[profiles.mi]\ngrant = \"managed_identity\"\nmanaged_identity = \"imds\"\nresource = \"https://graph.microsoft.com\"\nidentity_endpoint = \"\(imds.url.absoluteString)\"\n",
            path: nil)
        let profile = try config.profile(named: "mi")
        let store = try TokenStore(directory: dir.path, keyFile: nil)
        let time = ManualTime(Date())
        let broker = TokenBroker(profile: profile, store: store, transport: AsyncHTTPTransport.shared, time: time)
        #expect(try await broker.accessToken().reveal() == FakeManagedIdentityEndpoint.token(1))
        #expect(try await broker.accessToken().reveal() == FakeManagedIdentityEndpoint.token(1))
        time.advance(3400)
        #expect(try await broker.accessToken().reveal() == FakeManagedIdentityEndpoint.token(2))
        #expect(imds.tokensIssued == 2)
    }
}
