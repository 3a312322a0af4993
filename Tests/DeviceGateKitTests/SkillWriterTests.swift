import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

/// The skill files `devicegate skill` writes, read back the way skill loaders read them.
@Suite struct SkillWriterTests {
    static func profile(_ name: String, _ kind: ProviderKind = .microsoft, gateway: GatewaySettings? = nil) -> Profile {
        var profile = Profile(name: name, provider: ProviderSettings(kind: kind), clientID: "client-\(name)", scopes: ["openid"])
        profile.gateway = gateway
        return profile
    }

    static let graph = GatewaySettings(
        upstream: URL(string: "https://graph.microsoft.com")!,
        rules: [try! PolicyRule("GET /v1.0/me"), try! PolicyRule("GET /v1.0/me/messages/**"), try! PolicyRule("POST /v1.0/me/sendMail")],
        autoLogin: true)

    static func keyed() -> GatewayConfig {
        var config = GatewayConfig()
        config.agents = ["openclaw": "sha256:" + String(repeating: "ab", count: 32)]
        return config
    }

    /// Writes the skills into a fresh directory and reads each back, keyed by folder name.
    static func written(_ writer: SkillWriter) throws -> (dir: TemporaryDirectory, files: [String: SkillFile], texts: [String: String]) {
        let dir = TemporaryDirectory("skills")
        var files: [String: SkillFile] = [:]
        var texts: [String: String] = [:]
        for path in try writer.write(to: dir.path) {
            let folder = URL(fileURLWithPath: path).deletingLastPathComponent().lastPathComponent
            #expect(URL(fileURLWithPath: path).lastPathComponent == "SKILL.md")
            files[folder] = try SkillFile(path: path)
            texts[folder] = try String(contentsOfFile: path, encoding: .utf8)
        }
        return (dir, files, texts)
    }

    @Test func everyFileParsesAsAgentSkillsAndOpenClawExpect() throws {
        let writer = SkillWriter(
            profiles: [Self.profile("work", gateway: Self.graph), Self.profile("gh", .github)], gateway: Self.keyed(),
            options: .init(container: "devicegate"))
        let (dir, files, _) = try Self.written(writer)
        defer { dir.remove() }
        #expect(files.keys.sorted() == ["devicegate-auth", "devicegate-work-api"])
        for (folder, file) in files {
            #expect(file.name == folder, "name must equal the folder name")
            let name = try #require(file.name)
            #expect(name.count <= 64 && !name.hasPrefix("-") && !name.hasSuffix("-") && !name.contains("--"))
            #expect(name.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" })
            let description = try #require(file.description)
            #expect((1...1024).contains(description.count))
            #expect(description.contains("Use when:") && description.contains("NOT for:"))
            #expect(Set(file.lines.keys) == ["name", "description", "metadata"])
            #expect(file.lines["name"] == name, "the single-line parser reads the same name")
            // YAML and JSON agree on metadata.
            let viaYAML = try JSONSerialization.data(withJSONObject: file.yaml["metadata"] as Any, options: .sortedKeys)
            let viaJSON = try JSONSerialization.data(withJSONObject: file.metadata, options: .sortedKeys)
            #expect(viaYAML == viaJSON)
            #expect((file.metadata["openclaw"] as? [String: Any])?["emoji"] is String)
        }
    }

    @Test func theAuthSkillRunsLoginThroughDockerExecOrLocally() throws {
        let profiles = [Self.profile("work"), Self.profile("gh", .github), Self.profile("yt", .google)]
        let inContainer = try SkillWriter(profiles: profiles, gateway: GatewayConfig(), options: .init(container: "dg-sidecar")).skills()
        let auth = try #require(inContainer.first { $0.name == "devicegate-auth" })
        let file = try SkillFile(text: auth.text)
        #expect(file.requires["bins"] == ["docker"])
        #expect(auth.text.contains("docker exec dg-sidecar devicegate login gh --notify telegram --json"))
        #expect(file.description?.contains("/auth") == true)
        #expect(auth.text.contains("/auth gh"), "mentions the chat bot's /auth as the socket-free way")
        for profile in ["work", "gh", "yt"] { #expect(auth.text.contains("| `\(profile)` |")) }
        #expect(auth.text.contains("| `yt` | Google | 30 minutes |"))
        #expect(auth.text.contains("at least 1860 seconds"), "waits for the longest code lifetime (Google's 30 minutes) plus a minute")
        #expect(auth.text.contains("| 0 |") && auth.text.contains("| 2 |"))

        let local = try SkillWriter(profiles: [Self.profile("work")], gateway: GatewayConfig()).skills()
        let localFile = try SkillFile(text: local[0].text)
        #expect(localFile.requires["bins"] == ["devicegate"])
        #expect(local[0].text.contains("\ndevicegate login work --notify telegram --json\n"))
        #expect(!local[0].text.contains("docker"))
        #expect(local[0].text.contains("at least 960 seconds"))
    }

    @Test func anAPISkillNamesTheGatewayURLTheRulesAndTheAnswers() throws {
        let skills = try SkillWriter(
            profiles: [Self.profile("work", gateway: Self.graph)], gateway: Self.keyed(), options: .init(container: "devicegate")
        ).skills()
        let api = try #require(skills.first { $0.name == "devicegate-work-api" })
        let file = try SkillFile(text: api.text)
        #expect(file.requires["bins"] == ["curl"])
        #expect(file.requires["env"] == ["DEVICEGATE_AGENT_KEY"])
        #expect(api.text.contains("http://devicegate:8787/work/PATH  →  https://graph.microsoft.com/PATH"))
        for rule in ["GET /v1.0/me", "GET /v1.0/me/messages/**", "POST /v1.0/me/sendMail"] {
            #expect(api.text.contains("- `\(rule)`"))
            #expect(file.description?.contains(rule) == true)
        }
        #expect(
            api.text.contains(
                #"curl -sS --connect-timeout 5 --max-time 60 -H "Authorization: Bearer $DEVICEGATE_AGENT_KEY" 'http://devicegate:8787/work/v1.0/me/messages'"#
            ))
        #expect(api.text.contains("-X POST 'http://devicegate:8787/work/v1.0/me/sendMail'"))
        for (status, error) in [("401", "sign_in_required"), ("403", "forbidden"), ("423", "locked"), ("429", "rate_limited")] {
            #expect(api.text.contains("| \(status) | `\(error)` |"), "explains \(status)")
        }
        #expect(api.text.contains("devicegate unlock work"))
        #expect(api.text.contains("Never ask for, accept, print, log or store a token"))
        #expect(api.text.contains("auto_login is on"))
    }

    @Test func readOnlyExpandsAndTheURLFollowsTheListener() throws {
        let readOnly = GatewaySettings(upstream: URL(string: "https://api.github.com/")!, readOnly: true)
        var config = GatewayConfig()
        config.listen = "0.0.0.0:9000"
        let plain = try SkillWriter(profiles: [Self.profile("gh", .github, gateway: readOnly)], gateway: config).skills()
        let api = try #require(plain.first { $0.name == "devicegate-gh-api" })
        #expect(api.text.contains("- `GET /**`") && api.text.contains("- `HEAD /**`"))
        #expect(api.text.contains("http://127.0.0.1:9000/gh/PATH  →  https://api.github.com/PATH"))
        #expect(!api.text.contains("Authorization"), "no agent key header when the gateway wants none")
        #expect(try SkillFile(text: api.text).requires["env"] == nil)
        #expect(api.text.contains("Otherwise") == false && api.text.contains("Use the devicegate-auth skill"), "auto_login is off")

        config.socket = "/run/devicegate/gateway.sock"
        let socket = try SkillWriter(profiles: [Self.profile("gh", .github, gateway: readOnly)], gateway: config).skills()
        #expect(socket.contains { $0.text.contains("--unix-socket /run/devicegate/gateway.sock 'http://localhost/gh/'") })

        let explicit = try SkillWriter(
            profiles: [Self.profile("gh", .github, gateway: readOnly)], gateway: config,
            options: .init(container: "devicegate", gatewayURL: "https://gw.internal:8443/")
        ).skills()
        #expect(explicit.contains { $0.text.contains("https://gw.internal:8443/gh/PATH") })
        #expect(throws: SkillWriter.Failure.self) {
            try SkillWriter(
                profiles: [Self.profile("gh", .github, gateway: readOnly)], gateway: config, options: .init(gatewayURL: "gw:80")
            )
            .skills()
        }
    }

    @Test func namesAreKebabCaseAndClashesAreRefused() throws {
        #expect(SkillWriter.apiSkillName("work") == "devicegate-work-api")
        #expect(SkillWriter.apiSkillName("My_Work.2") == "devicegate-my-work-2-api")
        #expect(SkillWriter.apiSkillName("--x__y--") == "devicegate-x-y-api")
        let long = SkillWriter.apiSkillName(String(repeating: "a", count: 48) + "-" + String(repeating: "b", count: 15))
        #expect(long.count <= 64 && !long.contains("--"))
        #expect(throws: SkillWriter.Failure.self) {
            try SkillWriter(
                profiles: [Self.profile("my_work", gateway: Self.graph), Self.profile("my-work", gateway: Self.graph)],
                gateway: GatewayConfig()
            ).skills()
        }
    }

    @Test func nothingToWriteIsAnError() throws {
        var service = Self.profile("svc")
        service.grant = .clientCredentials
        #expect(throws: SkillWriter.Failure.self) { try SkillWriter(profiles: [service], gateway: GatewayConfig()).skills() }
        // A service identity served by the gateway gets an API skill but no auth skill.
        service.gateway = Self.graph
        #expect(try SkillWriter(profiles: [service], gateway: GatewayConfig()).skills().map(\.name) == ["devicegate-svc-api"])
    }

    @Test func rerunsReplaceGeneratedFilesButNeverAHandWrittenSkill() throws {
        let writer = SkillWriter(profiles: [Self.profile("work", gateway: Self.graph)], gateway: GatewayConfig())
        let dir = TemporaryDirectory("skills")
        defer { dir.remove() }
        let first = try writer.write(to: dir.path)
        try Data(("stale " + SkillWriter.marker).utf8).write(to: URL(fileURLWithPath: first[0]))
        #expect(try writer.write(to: dir.path) == first)
        #expect(try String(contentsOfFile: first[0], encoding: .utf8).hasPrefix("---\nname: "))

        try Data("---\nname: devicegate-auth\ndescription: mine\n---\n".utf8).write(to: URL(fileURLWithPath: first[0]))
        #expect(throws: SkillWriter.Failure.self) { try writer.write(to: dir.path) }
        #expect(try String(contentsOfFile: first[0], encoding: .utf8).contains("description: mine"), "left as it was")
    }
}
