import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

/// `devicegate skill` with the real binary: the files the deployment docs tell people to mount.
@Suite struct SkillCommandTests {
    static let secretValue = "client-secret-that-must-stay-home"

    @Test func writesParsableSkillsWithTheCommandsAndNoSecrets() throws {
        let idp = try LocalIdP.load()
        let box = Sandbox(
            idp: idp,
            config: """
                [profiles.work]
                provider = "oidc"
                issuer = "\(idp.issuer)"
                client_id = "\(idp.publicClient)"
                client_secret_env = "SKILL_TEST_SECRET"
                scopes = ["openid", "mail.read"]
                upstream = "https://graph.microsoft.com"
                allow = ["GET /v1.0/me", "GET /v1.0/me/messages/**"]

                [profiles.plain]
                provider = "github"
                client_id = "Ov23liEXAMPLE"

                [gateway.agents]
                openclaw = "sha256:\(String(repeating: "0f", count: 32))"
                """)
        defer { box.remove() }
        var environment = box.environment
        environment["SKILL_TEST_SECRET"] = Self.secretValue
        let out = box.dir.file("skills")
        let result = try ProcessResult.run(
            Sandbox.binary, ["skill", "--out", out, "--container", "devicegate"], environment: environment)
        #expect(result.status == 0, "skill: \(result.stderr)")
        #expect(result.stdout == "\(out)/devicegate-auth/SKILL.md\n\(out)/devicegate-work-api/SKILL.md\n")

        let auth = try SkillFile(path: "\(out)/devicegate-auth/SKILL.md")
        #expect(auth.name == "devicegate-auth")
        #expect(auth.body.contains("docker exec devicegate devicegate login plain --notify telegram --json"))
        #expect(auth.body.contains("| `work` |") && auth.body.contains("| `plain` | GitHub | 15 minutes |"))
        let api = try SkillFile(path: "\(out)/devicegate-work-api/SKILL.md")
        #expect(api.requires["env"] == ["DEVICEGATE_AGENT_KEY"])
        #expect(api.body.contains("'http://devicegate:8787/work/v1.0/me'"))
        #expect(api.body.contains("- `GET /v1.0/me/messages/**`"))

        let texts = try FileManager.default.subpathsOfDirectory(atPath: out).filter { $0.hasSuffix(".md") }.map {
            try String(contentsOfFile: "\(out)/\($0)", encoding: .utf8)
        }
        #expect(texts.count == 2)
        let leaked = texts.contains { $0.contains(Self.secretValue) || $0.contains(String(repeating: "0f", count: 32)) }
        #expect(!leaked, "a secret or the agent key hash reached a skill file")

        // A profile the gateway does not serve gets the auth skill only, and a note why.
        let onlyPlain = try ProcessResult.run(
            Sandbox.binary, ["skill", "plain", "--out", box.dir.file("plain")], environment: environment)
        #expect(onlyPlain.status == 0)
        #expect(onlyPlain.stderr.contains("plain has no `upstream` and `allow`"))
        #expect(onlyPlain.stdout == box.dir.file("plain") + "/devicegate-auth/SKILL.md\n")
        #expect(try SkillFile(path: box.dir.file("plain") + "/devicegate-auth/SKILL.md").requires["bins"] == ["devicegate"])
    }

    @Test func theDeployExampleConfigYieldsTheSkillsTheComposeFileMounts() throws {
        let box = Sandbox(idp: try LocalIdP.load())
        defer { box.remove() }
        let example = LocalIdP.repository.appendingPathComponent("deploy/config.example.toml").path
        let out = box.dir.file("skills")
        let result = try box.run("skill", "--config", example, "--out", out, "--container", "devicegate")
        #expect(result.status == 0, "skill: \(result.stderr)")
        let auth = try SkillFile(path: "\(out)/devicegate-auth/SKILL.md")
        #expect(auth.body.contains("docker exec devicegate devicegate login work --notify telegram --json"))
        let api = try SkillFile(path: "\(out)/devicegate-work-api/SKILL.md")
        #expect(api.body.contains("http://devicegate:8787/work/PATH  →  https://graph.microsoft.com/PATH"))
        #expect(api.body.contains("auto_login is on"))
    }

    @Test func nothingToWriteIsAConfigError() throws {
        let box = Sandbox(
            idp: try LocalIdP.load(),
            config: """
                [profiles.svc]
                provider = "github"
                client_id = "x"
                grant = "client_credentials"
                client_secret_env = "UNSET_SECRET"
                """)
        defer { box.remove() }
        let result = try box.run("skill", "--out", box.dir.file("skills"))
        #expect(result.status == 78)
        #expect(result.stderr.contains("no skill to write"))
        #expect(!FileManager.default.fileExists(atPath: box.dir.file("skills")))
    }
}
