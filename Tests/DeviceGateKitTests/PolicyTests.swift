import DeviceGateKit
import Foundation
import Testing

@Suite struct RequestPathTests {
    @Test(arguments: [
        ("/v1.0/me", ["v1.0", "me"]),
        ("/v1.0/me/", ["v1.0", "me"]),
        ("/", []),
        ("/files/a%20b", ["files", "a b"]),
        ("/files/%C3%A9t%C3%A9", ["files", "été"]),
    ])
    func acceptsCanonicalPaths(raw: String, segments: [String]) throws {
        #expect(try RequestPath(raw).segments == segments)
        #expect(try RequestPath(raw).raw == raw)
    }

    @Test(arguments: [
        ("v1.0/me", RequestPath.Rejection.notOriginForm),
        ("http://evil.example/x", .notOriginForm),
        ("/a/../b", .dotSegment),
        ("/a/./b", .dotSegment),
        ("/a/%2e%2e/b", .dotSegment),
        ("/a/%2E/b", .dotSegment),
        ("/a//b", .emptySegment),
        ("/a/%2fb", .encodedSeparator),
        ("/a/%5cb", .encodedSeparator),
        ("/a\\b", .controlCharacter),
        ("/a/%00", .controlCharacter),
        ("/a/%0d%0aX-Injected:%201", .controlCharacter),
        ("/a/%c0%ae%c0%ae/b", .badEncoding),  // overlong '.'
        ("/a/%252e%252e/b", .badEncoding),  // double encoding
        ("/a/%zz", .badEncoding),
        ("/a/%2", .badEncoding),
        ("/a b", .delimiter),
        ("/users/bob#/profile", .delimiter),
        ("/users/#/profile", .delimiter),
        ("/a?b", .delimiter),
        ("/caf\u{e9}", .delimiter),
        ("/a/[x]", .delimiter),
        ("/x/..;/admin/secret", .dotSegment),
        ("/x/%2e%2e;/admin", .dotSegment),
        ("/x/.;/admin", .dotSegment),
        ("/x/..;jsessionid=1/admin", .dotSegment),
        ("/x/..%3b/admin", .dotSegment),
        ("/x/...", .dotSegment),
        ("/x/..%20/admin", .dotSegment),
        ("/x/;p=1/admin", .emptySegment),
        ("/x/%ef%bc%8e%ef%bc%8e/admin", .dotSegment),  // fullwidth dots, NFKC → ..
        ("/x/a%ef%bc%8fb", .encodedSeparator),  // fullwidth solidus
        ("/x/%c2%85", .controlCharacter),  // C1 control (NEL)
    ])
    func refusesAmbiguousPaths(raw: String, rejection: RequestPath.Rejection) {
        #expect(throws: rejection) { try RequestPath(raw) }
    }
}

@Suite struct PolicyRuleTests {
    func allows(_ rule: String, _ method: String, _ path: String) throws -> Bool {
        try PolicyRule(rule).allows(method: method, path: RequestPath(path))
    }

    @Test func exactSingleAndRecursiveWildcards() throws {
        #expect(try allows("GET /v1.0/me", "GET", "/v1.0/me"))
        #expect(try !allows("GET /v1.0/me", "GET", "/v1.0/me/messages"))
        #expect(try !allows("GET /v1.0/me", "POST", "/v1.0/me"))
        #expect(try allows("get /v1.0/me", "GET", "/v1.0/me"))
        #expect(try allows("GET /v1.0/users/*/photo", "GET", "/v1.0/users/42/photo"))
        #expect(try !allows("GET /v1.0/users/*/photo", "GET", "/v1.0/users/42/x/photo"))
        #expect(try allows("GET /v1.0/me/messages/**", "GET", "/v1.0/me/messages"))
        #expect(try allows("GET /v1.0/me/messages/**", "GET", "/v1.0/me/messages/abc/attachments"))
        #expect(try !allows("GET /v1.0/me/messages/**", "GET", "/v1.0/me/messagesX"))
        #expect(try allows("* /v1.0/me", "DELETE", "/v1.0/me"))
        // Encoded characters are compared decoded on both sides.
        #expect(try allows("GET /files/a%20b", "GET", "/files/a b".replacingOccurrences(of: " ", with: "%20")))
    }

    @Test func readOnlyAllowsGetAndHeadOnly() throws {
        let settings = GatewaySettings(upstream: URL(string: "https://graph.microsoft.com")!, readOnly: true)
        #expect(settings.rule(allowing: "GET", try RequestPath("/v1.0/me")) != nil)
        #expect(settings.rule(allowing: "HEAD", try RequestPath("/anything/at/all")) != nil)
        #expect(settings.rule(allowing: "POST", try RequestPath("/v1.0/me/sendMail")) == nil)
        #expect(GatewaySettings(upstream: URL(string: "https://x")!).rule(allowing: "GET", try RequestPath("/")) == nil)  // default deny
    }

    @Test func badRulesAreConfigErrors() {
        #expect(throws: ConfigError.self) { try PolicyRule("GET") }
        #expect(throws: ConfigError.self) { try PolicyRule("GET /a/**/b") }
        #expect(throws: ConfigError.self) { try PolicyRule("G3T /a") }
        #expect(throws: ConfigError.self) { try PolicyRule("GET /a/../b") }
    }

    @Test func profilesReadGatewaySettings() throws {
        let config = try ConfigLoader(environment: [:]).parse(
            """
            [profiles.work]
            provider = "microsoft"
            client_id = "c"
            upstream = "https://graph.microsoft.com"
            allow = ["GET /v1.0/me", "GET /v1.0/me/messages/**"]
            auto_login = true
            rate_limit_per_minute = 60

            [gateway]
            listen = "127.0.0.1:9000"
            """, path: "c.toml")
        let gateway = try #require(try config.profile(named: "work").gateway)
        #expect(gateway.rules.map(\.description) == ["GET /v1.0/me", "GET /v1.0/me/messages/**"])
        #expect(gateway.autoLogin && gateway.requestsPerMinute == 60)
        #expect(config.gateway.listen == "127.0.0.1:9000")
        func error(_ toml: String) -> String {
            do {
                _ = try ConfigLoader(environment: [:]).parse(toml, path: "c.toml")
                return ""
            } catch { return "\(error)" }
        }
        #expect(
            error("[profiles.w]\nprovider = \"github\"\nclient_id = \"c\"\nupstream = \"https://api.github.com\"\n").contains(
                "denies everything without rules"))
        #expect(error("[profiles.w]\nprovider = \"github\"\nclient_id = \"c\"\nallow = [\"GET /\"]\n").contains("needs `upstream`"))
        #expect(error("[gateway]\nlisten = \"0.0.0.0:8787\"\n").contains("needs agent keys"))
        #expect(error("[gateway]\nlisen = \"x\"\n").contains("did you mean `listen`"))
    }

    /// `[gateway] mcp` turns on /mcp; a served profile named `mcp` would then be unreachable at
    /// its root, so the pair is refused where it is written.
    @Test func theMCPEndpointSwitchAndItsNameClash() throws {
        func parse(_ toml: String) throws -> DeviceGateConfig { try ConfigLoader(environment: [:]).parse(toml, path: "c.toml") }
        let served = "provider = \"github\"\nclient_id = \"c\"\nupstream = \"https://api.github.com\"\nallow = [\"GET /user\"]\n"
        #expect(try parse("[gateway]\nmcp = true\n").gateway.mcp)
        #expect(try !parse("[profiles.work]\n" + served).gateway.mcp)
        #expect(try parse("[profiles.mcp]\n" + served).profiles["mcp"]?.gateway != nil)
        #expect(throws: ConfigError.self) { try parse("[gateway]\nmcp = \"yes\"\n") }
        do {
            _ = try parse("[gateway]\nmcp = true\n\n[profiles.mcp]\n" + served)
            Issue.record("a served profile named mcp was accepted with [gateway] mcp = true")
        } catch {
            #expect("\(error)".hasPrefix("c.toml:4: a profile named `mcp` cannot be served"))
        }
    }
}
