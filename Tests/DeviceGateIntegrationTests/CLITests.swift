import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

/// What the binary says and returns when things are wrong.
@Suite struct CLITests {
    @Test func aConfigErrorNamesTheLineAndExits78() throws {
        let idp = try LocalIdP.load()
        let box = Sandbox(
            idp: idp, config: "[profiles.work]\nprovider = \"oidc\"\nissuer = \"\(idp.issuer)\"\nclient_id = \"c\"\nscope = [\"openid\"]\n")
        defer { box.remove() }
        let result = try box.run("token", "work")
        #expect(result.status == 78)
        #expect(result.stderr.contains("config.toml:5: profiles.work: unknown key `scope`; did you mean `scopes`?"))
    }

    @Test func usageErrorsExit64() throws {
        let box = Sandbox(idp: try LocalIdP.load())
        defer { box.remove() }
        #expect(try box.run("token", "--min-ttl", "-5").status == 64)
        #expect(try box.run("frobnicate").status == 64)
    }

    @Test func aDamagedStoreFileIsExplainedAndKept() throws {
        let idp = try LocalIdP.load()
        let box = Sandbox(idp: idp)
        defer { box.remove() }
        let store = try box.store()
        try store.save(
            StoredProfile(
                profile: "work", issuer: idp.issuer, clientID: idp.publicClient,
                tokens: TokenSet(accessToken: Secret("at"), obtainedAt: Date()), identity: nil, updatedAt: Date()))
        let path = store.path(for: "work")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count - 1] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path))

        let token = try box.run("token", "work")
        #expect(token.status == 1)
        #expect(token.stderr.contains("\(path) is damaged"))
        #expect(token.stderr.contains("devicegate login work"))
        let status = try box.run("status", "work")
        #expect(status.status == 3)
        #expect(status.stdout.contains("\(path) is damaged"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == bytes, "the damaged file is left as it was")
    }

    @Test func anUnreachableProviderIsReportedByDoctor() throws {
        let box = Sandbox(
            idp: try LocalIdP.load(),
            config:
                "[profiles.down]\nprovider = \"oidc\"\nissuer = \"http://127.0.0.1:9/api/oidc\"\nclient_id = \"c\"\nscopes = [\"openid\"]\n"
        )
        defer { box.remove() }
        let doctor = try box.run("doctor")
        #expect(doctor.status == 1)
        #expect(doctor.stdout.contains("✗ profile down: could not discover the identity provider at http://127.0.0.1:9/api/oidc"))
        #expect(doctor.stdout.contains("✓ store:"))
    }

    @Test func providersListsEveryPreset() throws {
        let box = Sandbox(idp: try LocalIdP.load())
        defer { box.remove() }
        let result = try box.run("providers", "--json")
        #expect(result.status == 0)
        let names = ((try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))) as? [[String: Any]])?.compactMap {
            $0["name"] as? String
        }
        #expect(names == ["microsoft", "google", "github", "auth0", "okta", "keycloak", "oidc"])
    }
}
