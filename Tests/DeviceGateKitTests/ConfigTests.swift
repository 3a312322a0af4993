import DeviceGateKit
import Foundation
import Testing

@Suite struct ConfigTests {
    let loader = ConfigLoader(environment: [:])

    @Test func aFullProfileIsRead() throws {
        let config = try loader.parse(
            """
            default_profile = "work"

            [profiles.work]
            provider = "oidc"
            issuer = "http://127.0.0.1:4593/api/oidc"
            client_id = "agent-cli"
            scopes = ["openid", "profile", "email", "mail.read"]
            audience = "https://api.example"
            extra_params = { prompt = "consent" }
            min_ttl = 600
            notify = ["console"]

            [profiles.gh]
            provider = "github"
            client_id = "Iv1.abc"
            """, path: "config.toml")
        let work = try config.profile(named: nil)
        #expect(work.name == "work")
        #expect(work.provider.kind == .oidc)
        #expect(work.provider.issuer == "http://127.0.0.1:4593/api/oidc")
        #expect(work.scopes == ["openid", "profile", "email", "mail.read"])
        #expect(work.minimumTTL == 600)
        #expect(work.extraParameters.map { "\($0.0)=\($0.1)" } == ["audience=https://api.example", "prompt=consent"])
        #expect(try config.profile(named: "gh").provider.kind == .github)
    }

    func error(_ toml: String, environment: [String: String] = [:]) -> String {
        do {
            _ = try ConfigLoader(environment: environment).parse(toml, path: "config.toml")
            return "no error"
        } catch {
            return "\(error)"
        }
    }

    @Test func syntaxErrorsNameTheLine() {
        #expect(error("[profiles.work]\nprovider = \"oidc\"\nclient_id = \n").hasPrefix("config.toml:3: not valid TOML"))
    }

    @Test func unknownKeysNameTheLineAndSuggest() {
        let text = error("[profiles.work]\nprovider = \"oidc\"\nissuer = \"https://x\"\nclient_id = \"c\"\nscope = [\"openid\"]\n")
        #expect(text == "config.toml:5: profiles.work: unknown key `scope`; did you mean `scopes`?")
    }

    @Test func inlineClientSecretsAreRefused() {
        let text = error("[profiles.work]\nprovider = \"google\"\nclient_id = \"c\"\nclient_secret = \"hunter2\"\n")
        #expect(text.hasPrefix("config.toml:4: profiles.work: inline client secrets are refused"))
        #expect(!text.contains("hunter2"))
    }

    @Test func missingSettingsAreExplained() {
        #expect(error("[profiles.w]\nprovider = \"oidc\"\nclient_id = \"c\"\n").contains("the oidc provider needs `issuer`"))
        #expect(error("[profiles.w]\nprovider = \"keycloak\"\nclient_id = \"c\"\nbase_url = \"https://k\"\n").contains("needs `realm`"))
        #expect(error("[profiles.w]\nprovider = \"google\"\nclient_id = \"c\"\n").contains("requires the client secret"))
        #expect(error("[profiles.w]\nprovider = \"okta\"\n").contains("needs `client_id`"))
        #expect(error("[profiles.w]\nprovider = \"azure\"\nclient_id = \"c\"\n").contains("unknown provider \"azure\""))
        #expect(
            error("[profiles.w]\nprovider = \"oidc\"\nissuer = \"https://x\"\nclient_id = \"c\"\nmin_ttl = \"5m\"\n").contains(
                "min_ttl must be a whole number"))
        #expect(
            error("[profiles.w]\nprovider = \"oidc\"\nissuer = \"https://x\"\nclient_id = \"c\"\nscopes = [1]\n").contains(
                "must hold only strings"))
    }

    @Test func theMissingSettingErrorPointsAtTheProfileTable() {
        #expect(error("# comment\n\n[profiles.w]\nprovider = \"oidc\"\nclient_id = \"c\"\n").hasPrefix("config.toml:3:"))
    }

    @Test func environmentOverridesAndDefinesProfiles() throws {
        let env = [
            "DEVICEGATE__WORK__CLIENT_ID": "from-env", "DEVICEGATE__WORK__SCOPES": "openid,email",
            "DEVICEGATE__SVC__PROVIDER": "oidc", "DEVICEGATE__SVC__ISSUER": "https://idp.example", "DEVICEGATE__SVC__CLIENT_ID": "svc",
            "DEVICEGATE_PROFILE": "svc",
        ]
        let config = try ConfigLoader(environment: env).parse("[profiles.work]\nprovider = \"github\"\nclient_id = \"file\"\n", path: nil)
        #expect(try config.profile(named: "work").clientID == "from-env")
        #expect(try config.profile(named: "work").scopes == ["openid", "email"])
        #expect(try config.profile(named: nil).name == "svc")
        #expect(error("", environment: ["DEVICEGATE__WORK__SCOPE": "x"]).contains("did you mean `scopes`"))
    }

    @Test func choosingAProfileExplainsAmbiguity() throws {
        let config = try loader.parse(
            "[profiles.a]\nprovider = \"github\"\nclient_id = \"c\"\n[profiles.b]\nprovider = \"github\"\nclient_id = \"c\"\n",
            path: "c.toml")
        #expect { _ = try config.profile(named: nil) } throws: { "\($0)".contains("several profiles are configured (a, b)") }
        #expect { _ = try config.profile(named: "zz") } throws: { "\($0)".contains("known profiles: a, b") }
        #expect { _ = try DeviceGateConfig().profile(named: nil) } throws: { "\($0)".contains("no profiles are configured") }
    }

    @Test func secretSourcesReadEnvironmentAndFiles() throws {
        let path = NSTemporaryDirectory() + "secret-\(UUID().uuidString)"
        try "  s3cret\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try SecretSource.file(path).load().reveal() == "s3cret")
        #expect { _ = try SecretSource.environment("DEVICEGATE_TEST_UNSET_VARIABLE").load() } throws: { "\($0)".contains("is not set") }
    }

    @Test func pathsFollowXDGAndOverrides() {
        let xdg = Paths(
            configOverride: nil, dataDirOverride: nil, environment: ["HOME": "/home/a", "XDG_DATA_HOME": "/d", "XDG_CONFIG_HOME": "/c"])
        #expect(xdg.configFile == "/c/devicegate/config.toml")
        #expect(xdg.dataDirectory == "/d/devicegate")
        let plain = Paths(configOverride: nil, dataDirOverride: nil, environment: ["HOME": "/home/a"])
        #expect(plain.dataDirectory == "/home/a/.local/share/devicegate")
        let env = Paths(
            configOverride: nil, dataDirOverride: nil,
            environment: [
                "HOME": "/h", "DEVICEGATE_DATA_DIR": "/x", "DEVICEGATE_CONFIG": "/y.toml", "DEVICEGATE_KEY_FILE": "/run/secrets/k",
            ])
        #expect(env.dataDirectory == "/x")
        #expect(env.configFile == "/y.toml" && env.configExplicit)
        #expect(env.keyFile == "/run/secrets/k")
        #expect(
            Paths(configOverride: "/flag.toml", dataDirOverride: "/flag", environment: ["DEVICEGATE_DATA_DIR": "/x"]).dataDirectory
                == "/flag")
    }
}

@Suite struct ServiceConfigTests {
    func error(_ toml: String) -> String {
        do {
            _ = try ConfigLoader(environment: [:]).parse(toml, path: "c.toml")
            return "no error"
        } catch { return "\(error)" }
    }

    @Test func clientCredentialsNeedASecretOrACertificate() throws {
        #expect(
            error("[profiles.s]\ngrant = \"client_credentials\"\nprovider = \"microsoft\"\nclient_id = \"c\"\n").contains(
                "need a client secret"))
        #expect(
            error("[profiles.s]\ngrant = \"client_credentials\"\nprovider = \"microsoft\"\nclient_id = \"c\"\nprivate_key_file = \"/k\"\n")
                .contains("go together"))
        #expect(
            error("[profiles.s]\ngrant = \"password\"\n").contains("grant must be one of device_code, client_credentials, managed_identity")
        )
        let config = try ConfigLoader(environment: [:]).parse(
            "[profiles.s]\ngrant = \"client_credentials\"\nprovider = \"microsoft\"\ntenant = \"t\"\nclient_id = \"c\"\nprivate_key_file = \"/k\"\ncertificate_file = \"/c\"\nscopes = [\"https://graph.microsoft.com/.default\"]\n",
            path: nil)
        let profile = try config.profile(named: "s")
        #expect(profile.grant == .clientCredentials && profile.privateKeyFile == "/k" && profile.certificateFile == "/c")
    }

    @Test func managedIdentitiesNeedAResourceAndNoClientSecret() throws {
        #expect(error("[profiles.m]\ngrant = \"managed_identity\"\n").contains("needs `resource`"))
        #expect(
            error("[profiles.m]\ngrant = \"managed_identity\"\nresource = \"https://x\"\nclient_secret_env = \"X\"\n").contains(
                "does not apply to a managed identity"))
        #expect(
            error("[profiles.m]\ngrant = \"managed_identity\"\nresource = \"https://x\"\nmanaged_identity = \"vm\"\n").contains(
                "must be one of auto, imds, app_service, arc"))
        let profile = try ConfigLoader(environment: [:]).parse(
            "[profiles.m]\ngrant = \"managed_identity\"\nresource = \"https://vault.azure.net\"\nidentity_client_id = \"u1\"\n", path: nil
        )
        .profile(named: "m")
        #expect(profile.managedIdentity == ManagedIdentitySettings(kind: .auto, resource: "https://vault.azure.net", clientID: "u1"))
    }
}

@Suite struct NotifierNameTests {
    @Test func unknownNotifierNamesAreConfigErrors() {
        do {
            _ = try ConfigLoader(environment: [:]).parse(
                "[profiles.w]\nprovider = \"github\"\nclient_id = \"c\"\nnotify = [\"console\", \"telegarm\"]\n", path: "c.toml")
            Issue.record("expected an error")
        } catch {
            #expect("\(error)".contains("unknown notifier \"telegarm\""))
            #expect("\(error)".contains("did you mean `telegram`"))
        }
    }
}
