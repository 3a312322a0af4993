import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

/// `devicegate mcp` on stdio, driven by the official Python MCP SDK, signing in at the local
/// Glewlwyd.
@Suite(.serialized) struct MCPStdioTests {
    static func config(_ idp: LocalIdP, upstream: URL) -> String {
        """
        [profiles.work]
        provider = "oidc"
        issuer = "\(idp.issuer)"
        client_id = "\(idp.publicClient)"
        scopes = ["openid", "profile", "email", "mail.read"]
        notify = ["console"]
        upstream = "\(upstream.absoluteString)/api"
        allow = ["GET /me", "GET /big", "POST /notes", "GET /echo"]

        [profiles.other]
        provider = "oidc"
        issuer = "\(idp.issuer)"
        client_id = "\(idp.publicClient)"
        scopes = ["openid"]
        """
    }

    @Test func signInThroughTheToolsWithTheModernRevision() async throws {
        let idp = try LocalIdP.load()
        let upstream = try await Self.upstream()
        defer { Task { await upstream.stop() } }
        let sandbox = Sandbox(idp: idp, config: Self.config(idp, upstream: upstream.baseURL))
        defer { sandbox.remove() }
        let driver = try MCPDriver(["stdio", "--", Sandbox.binary, "mcp"], environment: sandbox.environment)

        let hello = try driver.connected()
        #expect(hello["protocol_version"] as? String == "2026-07-28")
        #expect(hello["server"] as? String == "devicegate")

        let tools = try driver.send(["op": "list_tools"])["tools"] as? [[String: Any]] ?? []
        #expect(tools.compactMap { $0["name"] as? String }.sorted() == ["http_request", "list_profiles", "sign_in", "sign_in_status"])

        let before = try driver.call("list_profiles").structured["profiles"] as? [[String: Any]] ?? []
        #expect(before.map { $0["profile"] as? String } == ["other", "work"])
        #expect(before.last?["signed_in"] as? Bool == false)
        #expect(before.last?["allow"] as? [String] == ["GET /me", "GET /big", "POST /notes", "GET /echo"])

        let started = try driver.call("sign_in", ["profile": "work"])
        #expect(!started.isError)
        #expect(started.structured["state"] as? String == "pending")
        let code = try #require(started.structured["user_code"] as? String)
        #expect((started.structured["verification_uri"] as? String)?.hasPrefix(idp.values["DEVICEGATE_IDP_URL"]!) == true)

        let again = try driver.call("sign_in", ["profile": "work"])
        #expect(again.structured["already_running"] as? Bool == true)
        #expect(again.structured["user_code"] as? String == code)

        try idp.approve(code)
        let status = try await driver.statusAfterApproval("work")
        #expect(status.structured["state"] as? String == "signed_in")
        #expect(status.text.contains("signed in as"))

        let after = try driver.call("list_profiles").structured["profiles"] as? [[String: Any]] ?? []
        #expect(after.last?["signed_in"] as? Bool == true)

        try Self.checkHTTPRequests(driver, upstream: upstream, store: sandbox.store())

        let stderr = driver.finish()
        let entry = try #require(try sandbox.store().load("work"))
        for secret in [entry.tokens.accessToken.reveal(), entry.tokens.refreshToken?.reveal()].compactMap({ $0 }) {
            #expect(!driver.transcript.contains(secret))
            #expect(!stderr.contains(secret))
        }
        let audit = try String(contentsOfFile: sandbox.dir.file("data/audit.jsonl"), encoding: .utf8)
        #expect(audit.contains(#""by":"mcp""#) && audit.contains(#""door":"mcp-stdio""#))
    }

    /// The upstream the `work` profile calls: `/api/me` answers JSON, `/api/big` 5,000 bytes of
    /// text, `/api/notes` echoes the body's length, `/api/echo` reflects the request's
    /// Authorization header (the token) in its body.
    static func upstream() async throws -> LoopbackServer {
        try await LoopbackServer.start { request in
            switch request.path {
            case "/api/me": .json(200, ["name": "Alice", "nested": ["ok": true]])
            case "/api/big":
                ScriptedResponse(status: 200, headers: [("Content-Type", "text/plain")], body: Data(repeating: 0x61, count: 5000))
            case "/api/notes": .json(201, ["received": request.bytes.count])
            case "/api/echo":
                ScriptedResponse(
                    status: 200, headers: [("Content-Type", "text/plain")],
                    body: Data("you sent \(request.header("Authorization") ?? "")".utf8))
            default: ScriptedResponse(status: 404)
            }
        }
    }

    /// `http_request` through the access core: allowed (the upstream saw the live token),
    /// refused by the policy, cut at the cap, and a binary body sent as base64.
    static func checkHTTPRequests(_ driver: MCPDriver, upstream: LoopbackServer, store: TokenStore) throws {
        let allowed = try driver.call("http_request", ["profile": "work", "method": "GET", "path": "/me?x=1"])
        #expect(!allowed.isError)
        #expect(allowed.structured["status"] as? Int == 200)
        #expect((allowed.structured["body"] as? String)?.contains("\n  \"name\" : \"Alice\"") == true)
        let seen = try #require(upstream.requests(to: "/api/me").last)
        #expect(seen.query == "x=1")
        let token = try #require(try store.load("work")).tokens.accessToken
        #expect(seen.header("Authorization") == "Bearer \(token.reveal())")

        let forbidden = try driver.call("http_request", ["profile": "work", "method": "DELETE", "path": "/me"])
        #expect(forbidden.isError)
        #expect(forbidden.structured["error"] as? String == "forbidden")
        #expect(forbidden.structured["status"] as? Int == 403)
        #expect(forbidden.text.contains("no rule allows DELETE /me"))
        #expect(upstream.requests.filter { $0.method == "DELETE" }.isEmpty)

        let big = try driver.call("http_request", ["profile": "work", "method": "GET", "path": "/big", "max_response_bytes": 1000])
        #expect(!big.isError)
        #expect(big.structured["truncated"] as? Bool == true)
        #expect(big.structured["max_response_bytes"] as? Int == 1000)
        #expect((big.structured["body"] as? String)?.count == 1000)
        #expect(big.text.contains("cut at 1000 bytes"))

        let posted = try driver.call(
            "http_request",
            ["profile": "work", "method": "POST", "path": "/notes", "body_base64": Data([0, 1, 2, 255]).base64EncodedString()])
        #expect(posted.structured["status"] as? Int == 201)
        #expect(upstream.requests(to: "/api/notes").last?.bytes == Data([0, 1, 2, 255]))

        // An upstream that reflects the token: the core's redactor keeps it out of the result.
        let echo = try driver.call("http_request", ["profile": "work", "method": "GET", "path": "/echo"])
        #expect(echo.structured["status"] as? Int == 200)
        #expect((echo.structured["body"] as? String)?.hasPrefix("you sent Bearer ") == true)
        #expect(!echo.text.contains(token.reveal()))

        for (arguments, complaint) in [
            (["method": "get", "path": "/me"], "upper case"),
            (["method": "GET", "path": "me"], "must start with /"),
            (["method": "GET", "path": "/me", "headers": ["Authorization": "Bearer x"]], "set by devicegate"),
            (["method": "GET", "path": "/me", "headers": ["X-A": "1\r\nX-B: 2"]], "cannot carry"),
            (["method": "POST", "path": "/notes", "body": "a", "body_base64": "YQ=="], "not both"),
            (["method": "POST", "path": "/notes", "body_base64": "***"], "not valid base64"),
        ] as [([String: Any], String)] {
            let refused = try driver.call("http_request", arguments.merging(["profile": "work"]) { own, _ in own })
            #expect(refused.isError && refused.text.contains(complaint), "\(arguments)")
        }
    }

    @Test func bothErasAndTheirErrors() async throws {
        let idp = try LocalIdP.load()
        let sandbox = Sandbox(idp: idp, config: Self.config(idp, upstream: URL(string: "http://127.0.0.1:9")!))
        defer { sandbox.remove() }
        for mode in ["legacy", "auto"] {
            let driver = try MCPDriver(["stdio", "--mode", mode, "--", Sandbox.binary, "mcp"], environment: sandbox.environment)
            #expect(try driver.connected()["protocol_version"] as? String == (mode == "legacy" ? "2025-11-25" : "2026-07-28"))
            // An unknown tool is a protocol error, and the session goes on.
            let unknown = try driver.call("delete_everything")
            #expect((unknown["rpc_error"] as? [String: Any])?["code"] as? Int == -32602)
            // A wrong argument is a tool error the model can read and correct.
            let wrong = try driver.call("sign_in_status", ["profile": "nobody"])
            #expect(wrong.isError && wrong.text.contains("no profile \"nobody\""))
            let extra = try driver.call("list_profiles", ["verbose": true])
            #expect(extra.isError && extra.text.contains("unknown argument `verbose`"))
            let status = try driver.call("sign_in_status", ["profile": "work"])
            #expect(status.structured["state"] as? String == "not_signed_in")
            if mode == "legacy" { #expect(try driver.send(["op": "ping"])["ok"] as? Bool == true) }
            driver.finish()
        }
    }

    /// The endings a person decides: a declined code is a tool error the model can explain, and
    /// a call without a sign-in on an `auto_login` profile says the person was sent a code.
    @Test func declinedSignInAndAutoLogin() async throws {
        let idp = try LocalIdP.load()
        let auto = """

            [profiles.auto]
            provider = "oidc"
            issuer = "\(idp.issuer)"
            client_id = "\(idp.publicClient)"
            scopes = ["openid"]
            notify = ["console"]
            upstream = "http://127.0.0.1:9"
            allow = ["GET /me"]
            auto_login = true
            """
        let sandbox = Sandbox(idp: idp, config: Self.config(idp, upstream: URL(string: "http://127.0.0.1:9")!) + auto)
        defer { sandbox.remove() }
        let driver = try MCPDriver(["stdio", "--", Sandbox.binary, "mcp"], environment: sandbox.environment)
        _ = try driver.connected()

        let code = try #require(try driver.call("sign_in", ["profile": "work"]).structured["user_code"] as? String)
        let denied = try idp.script("deny", [code])
        #expect(denied.status == 0, "\(denied.stderr)")
        let status = try await driver.statusAfterApproval("work")
        #expect(status.isError)
        #expect(status.structured["error"] as? String == "declined")

        let waiting = try driver.call("http_request", ["profile": "auto", "method": "GET", "path": "/me"])
        #expect(waiting.isError)
        #expect(waiting.structured["error"] as? String == "sign_in_required")
        #expect(waiting.text.contains("the person has been sent the code"))
        driver.finish()
    }

    @Test func narrowedToNamedProfiles() async throws {
        let idp = try LocalIdP.load()
        let sandbox = Sandbox(idp: idp, config: Self.config(idp, upstream: URL(string: "http://127.0.0.1:9")!))
        defer { sandbox.remove() }
        let driver = try MCPDriver(["stdio", "--", Sandbox.binary, "mcp", "--profile", "other"], environment: sandbox.environment)
        _ = try driver.connected()
        let profiles = try driver.call("list_profiles").structured["profiles"] as? [[String: Any]] ?? []
        #expect(profiles.map { $0["profile"] as? String } == ["other"])
        #expect(try driver.call("sign_in", ["profile": "work"]).isError)
        driver.finish()
        #expect(try sandbox.run("mcp", "--profile", "nope").status == 78)
    }

    /// A freeze from the chat is a hold in the store: the profile tools read it there (the same
    /// place a shared database would keep it), not from a file of their own.
    @Test func aFrozenProfileIsListedAsFrozenAndNotSignedInto() async throws {
        let idp = try LocalIdP.load()
        let sandbox = Sandbox(idp: idp, config: Self.config(idp, upstream: URL(string: "http://127.0.0.1:9")!))
        defer { sandbox.remove() }
        _ = try sandbox.store()  // the data directory, as a first run makes it
        try ProfileLock(profile: "work", reason: "frozen by Alice", lockedAt: Date()).write(kind: .frozen, in: sandbox.dir.file("data"))
        let driver = try MCPDriver(["stdio", "--", Sandbox.binary, "mcp"], environment: sandbox.environment)
        _ = try driver.connected()
        let profiles = try driver.call("list_profiles").structured["profiles"] as? [[String: Any]] ?? []
        let work = try #require(profiles.first { $0["profile"] as? String == "work" })
        #expect(work["frozen"] as? String == "frozen by Alice")
        #expect(work["signed_in"] as? Bool == false)
        let refused = try driver.call("sign_in", ["profile": "work"])
        #expect(refused.isError)
        #expect(refused.structured["error"] as? String == "frozen")
        driver.finish()
    }

    /// Bytes no SDK would send, written straight to the server: each is answered with the right
    /// JSON-RPC error and the server keeps serving.
    @Test func malformedMessagesAreAnsweredAndServingGoesOn() async throws {
        let idp = try LocalIdP.load()
        let sandbox = Sandbox(idp: idp, config: Self.config(idp, upstream: URL(string: "http://127.0.0.1:9")!))
        defer { sandbox.remove() }
        let meta = #""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#
        let lines = [
            "this is not json",
            #"{"jsonrpc":"2.0","id":1"#,
            #"[{"jsonrpc":"2.0","id":2,"method":"tools/list"}]"#,
            #"{"jsonrpc":"1.0","id":3,"method":"tools/list"}"#,
            #"{"jsonrpc":"2.0","id":{"x":1},"method":"tools/list"}"#,
            #"{"jsonrpc":"2.0","id":5,"method":"tools/list","params":[1]}"#,
            #"{"jsonrpc":"2.0","id":6,"method":"resources/list","params":{\#(meta)}}"#,
            #"{"jsonrpc":"2.0","id":7,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2031-01-01","io.modelcontextprotocol/clientCapabilities":{}}}}"#,
            #"{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":42,\#(meta)}}"#,
            #"{"jsonrpc":"2.0","method":"notifications/whatever"}"#,
            #"{"jsonrpc":"2.0","id":"last","method":"tools/list","params":{\#(meta)}}"#,
        ]
        let result = try ProcessResult.run(
            Sandbox.binary, ["mcp"], environment: sandbox.environment, stdin: lines.joined(separator: "\n") + "\n")
        #expect(result.status == 0)
        let answers = result.stdout.split(separator: "\n").compactMap { Sandbox.json(String($0)) }
        func code(_ id: Any?) -> Int? {
            let answer = answers.first { "\($0["id"] ?? NSNull())" == "\(id ?? NSNull())" && $0["error"] != nil }
            return (answer?["error"] as? [String: Any])?["code"] as? Int
        }
        let nullIDCodes = answers.filter { $0["id"] is NSNull }.compactMap { ($0["error"] as? [String: Any])?["code"] as? Int }
        #expect(nullIDCodes.sorted() == [-32700, -32700, -32600, -32600])  // text, cut object, batch, object id
        #expect(code(3) == -32600)
        #expect(code(5) == -32602)
        #expect(code(6) == -32601)
        #expect(code(7) == -32022)
        #expect(code(8) == -32602)
        // The notification got no answer; the last request was served (answers may come in
        // any order: requests run concurrently).
        #expect(answers.count == 10)
        let last = try #require(answers.first { $0["id"] as? String == "last" })
        #expect(((last["result"] as? [String: Any])?["tools"] as? [Any])?.count == 4)
        #expect(result.stderr.contains("MCP server on stdio"))
    }
}
