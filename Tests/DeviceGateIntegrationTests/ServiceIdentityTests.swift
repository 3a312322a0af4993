import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

/// Service identities through the real binary: Glewlwyd's confidential client, and a local
/// Azure metadata server standing in for IMDS.
@Suite struct ServiceIdentityTests {
    func clientCredentialsConfig(_ idp: LocalIdP, method: String, secretFile: String? = nil) -> String {
        """
        [profiles.svc]
        grant = "client_credentials"
        provider = "oidc"
        issuer = "\(idp.issuer)"
        client_id = "\(idp.values["DEVICEGATE_IDP_CONFIDENTIAL_CLIENT"]!)"
        client_secret_file = "\(secretFile ?? idp.values["DEVICEGATE_IDP_CONFIDENTIAL_SECRET_FILE"]!)"
        token_auth = "\(method)"
        scopes = ["mail.read"]
        """
    }

    @Test(arguments: ["client_secret_basic", "client_secret_post"])
    func clientCredentialsAgainstGlewlwyd(method: String) throws {
        let idp = try LocalIdP.load()
        let box = Sandbox(idp: idp, config: clientCredentialsConfig(idp, method: method))
        defer { box.remove() }
        let login = try box.run("login", "svc")
        #expect(login.status == 0, "\(login.stderr)")
        #expect(login.stderr.contains("nothing to sign in to"))
        let first = try box.run("token", "svc")
        #expect(first.status == 0, "\(first.stderr)")
        let token = Secret(first.stdout.trimmingCharacters(in: .newlines))
        #expect(try idp.isActive(token))
        #expect(try box.run("token", "svc").stdout == first.stdout, "the cached token is reused")
        let status = try box.run("status", "svc", "--json")
        #expect(status.status == 0)
        #expect(Sandbox.json(status.stdout)?["grant"] as? String == "client_credentials")
        #expect(!status.stdout.contains(token.reveal()) && !login.stderr.contains(token.reveal()))
    }

    @Test func aWrongClientSecretIsExplained() throws {
        let idp = try LocalIdP.load()
        let box = Sandbox(idp: idp, config: "")
        defer { box.remove() }
        let wrong = box.dir.write("wrong-secret", "not-the-secret")
        _ = box.dir.write("config.toml", clientCredentialsConfig(idp, method: "client_secret_basic", secretFile: wrong))
        let result = try box.run("token", "svc")
        #expect(result.status == 1)
        #expect(result.stderr.contains("refused the client credentials"))
        #expect(!result.stderr.contains("not-the-secret"))
    }

    @Test func managedIdentityFromTheLocalMetadataServer() async throws {
        let idp = try LocalIdP.load()
        let imds = try await FakeManagedIdentityEndpoint.start(.imds)
        defer { Task { await imds.stop() } }
        let box = Sandbox(
            idp: idp,
            config: """
                [profiles.mi]
                grant = "managed_identity"
                managed_identity = "imds"
                resource = "https://management.azure.com/"
                identity_endpoint = "\(imds.url.absoluteString)"
                """)
        defer { box.remove() }
        let token = try box.run("token", "mi")
        #expect(token.status == 0, "\(token.stderr)")
        #expect(token.stdout == FakeManagedIdentityEndpoint.token(1) + "\n")
        #expect(try box.run("token", "mi").stdout == token.stdout)
        #expect(imds.tokensIssued == 1)
        let logout = try box.run("logout", "mi")
        #expect(logout.status == 0, "\(logout.stderr)")
        #expect(try box.store().load("mi") == nil)
    }
}
