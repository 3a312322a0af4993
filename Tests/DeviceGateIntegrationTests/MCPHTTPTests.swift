import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

/// `/mcp` on a running `devicegate serve` with `[gateway] mcp = true`, behind an agent key,
/// driven by the official Python MCP SDK over streamable HTTP.
@Suite(.serialized) struct MCPHTTPTests {
    /// A `devicegate serve` child process on a free port.
    final class Gateway {
        let process = Process()
        let errors = Pipe()
        let port: Int

        /// - Parameter environment: the sandbox's, unless given (a Telegram bot's, for approvals).
        init(_ sandbox: Sandbox, environment: [String: String]? = nil) throws {
            process.executableURL = URL(fileURLWithPath: Sandbox.binary)
            process.arguments = ["serve", "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"]
            process.environment = environment ?? sandbox.environment
            process.standardOutput = FileHandle.nullDevice
            process.standardError = errors
            try process.run()
            var text = ""
            var announcement: Substring?
            while announcement == nil {
                let chunk = errors.fileHandleForReading.availableData
                if chunk.isEmpty { throw Failure("serve ended: \(text)") }
                text += String(decoding: chunk, as: UTF8.self)
                announcement = text.split(separator: "\n").first { $0.hasPrefix("devicegate: gateway on ") }
            }
            let address = announcement?.split(separator: " ").first { $0.hasPrefix("127.0.0.1:") } ?? ""
            guard let port = Int(address.split(separator: ":").last ?? "") else { throw Failure("no port in: \(text)") }
            self.port = port
        }

        var url: URL { URL(string: "http://127.0.0.1:\(port)/mcp")! }

        /// Stops it as a signal would; returns what it wrote to stderr.
        func stop() -> String {
            process.terminate()
            let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return text
        }
    }

    /// A key made by `devicegate agent-key`, and the config line that admits it.
    static func agentKey(_ sandbox: Sandbox) throws -> (key: String, hash: String) {
        let made = try sandbox.run("agent-key", "openclaw")
        let hash = try #require(made.stderr.split(separator: "\"").first { $0.hasPrefix("sha256:") })
        return (made.stdout.trimmingCharacters(in: .whitespacesAndNewlines), String(hash))
    }

    static func config(_ idp: LocalIdP, upstream: URL, hash: String) -> String {
        MCPStdioTests.config(idp, upstream: upstream) + "\n\n[gateway]\nmcp = true\n\n[gateway.agents]\nopenclaw = \"\(hash)\"\n"
    }

    @Test func toolsOverStreamableHTTPBehindAnAgentKey() async throws {
        let idp = try LocalIdP.load()
        let upstream = try await MCPStdioTests.upstream()
        defer { Task { await upstream.stop() } }
        let probe = Sandbox(idp: idp)
        let (key, hash) = try Self.agentKey(probe)
        probe.remove()
        let sandbox = Sandbox(idp: idp, config: Self.config(idp, upstream: upstream.baseURL, hash: hash))
        defer { sandbox.remove() }
        let gateway = try Gateway(sandbox)
        var environment = sandbox.environment
        environment["MCP_AGENT_KEY"] = key
        let driver = try MCPDriver(["http", gateway.url.absoluteString], environment: environment)

        #expect(try driver.connected()["protocol_version"] as? String == "2026-07-28")
        let tools = try driver.send(["op": "list_tools"])["tools"] as? [[String: Any]] ?? []
        let http = try #require(tools.first { $0["name"] as? String == "http_request" })
        // The policy, in words, where the model reads it.
        #expect(
            (http["description"] as? String)?.contains("work: calls 127.0.0.1; allows only GET /me, GET /big, POST /notes and GET /echo")
                == true)

        let started = try driver.call("sign_in", ["profile": "work"])
        let code = try #require(started.structured["user_code"] as? String)
        try idp.approve(code)
        let status = try await driver.statusAfterApproval("work")
        #expect(status.structured["state"] as? String == "signed_in")

        try MCPStdioTests.checkHTTPRequests(driver, upstream: upstream, store: sandbox.store())
        let unknown = try driver.call("nope")
        #expect((unknown["rpc_error"] as? [String: Any])?["code"] as? Int == -32602)
        #expect(try driver.call("sign_in_status", ["profile": "work"]).structured["state"] as? String == "signed_in")

        let driverErrors = driver.finish()
        let serveErrors = gateway.stop()
        let entry = try #require(try sandbox.store().load("work"))
        for secret in [entry.tokens.accessToken.reveal(), entry.tokens.refreshToken?.reveal(), key].compactMap({ $0 }) {
            #expect(!driver.transcript.contains(secret))
            #expect(!driverErrors.contains(secret) && !serveErrors.contains(secret))
        }
        // The key named the agent in the audit log, for the sign-in and for the calls.
        let audit = try String(contentsOfFile: sandbox.dir.file("data/audit.jsonl"), encoding: .utf8)
        let records = audit.split(separator: "\n").compactMap { Sandbox.json(String($0)) }
        #expect(
            records.contains {
                $0["event"] as? String == "request" && $0["agent"] as? String == "openclaw" && $0["path"] as? String == "/me"
                    && $0["door"] as? String == "mcp-http"
            })
        #expect(
            records.contains {
                $0["event"] as? String == "denied" && $0["agent"] as? String == "openclaw" && $0["status"] as? Int == 403
                    && $0["door"] as? String == "mcp-http"
            })
        #expect(
            records.contains {
                $0["event"] as? String == "signed_in" && $0["door"] as? String == "mcp-http" && $0["agent"] as? String == "openclaw"
            })
        #expect(!audit.contains(key))
    }

    /// A call an `approve` rule holds waits for the person's tap in the chat (the Bot API
    /// double), then goes out with the agent's bytes; a denied one is a tool error naming why,
    /// and nothing reaches the upstream.
    @Test func aHeldCallWaitsForThePersonsTapInTheChat() async throws {
        let idp = try LocalIdP.load()
        let upstream = try await MCPStdioTests.upstream()
        let fake = try await FakeBotAPI.start()
        defer {
            Task {
                await upstream.stop()
                await fake.stop()
            }
        }
        let probe = Sandbox(idp: idp)
        let (key, hash) = try Self.agentKey(probe)
        probe.remove()
        let allow = #"allow = ["GET /me", "GET /big", "POST /notes", "GET /echo"]"#
        let config = Self.config(idp, upstream: upstream.baseURL, hash: hash).replacingOccurrences(
            of: allow, with: allow + "\n" + #"approve = ["POST /notes"]"#)
        #expect(config.contains("approve = "))
        let sandbox = Sandbox(idp: idp, config: config)
        defer { sandbox.remove() }
        var environment = TelegramTests.environment(sandbox, fake)
        let gateway = try Gateway(sandbox, environment: environment)
        defer { _ = gateway.stop() }
        environment["MCP_AGENT_KEY"] = key
        let driver = try MCPDriver(["http", gateway.url.absoluteString], environment: environment)
        _ = try driver.connected()
        let started = try driver.call("sign_in", ["profile": "work"])
        try idp.approve(try #require(started.structured["user_code"] as? String))
        #expect(try await driver.statusAfterApproval("work").structured["state"] as? String == "signed_in")

        // The person taps a button on the message that shows the held call.
        func tap(_ button: String, after earlier: Int?) -> Task<Int, any Error> {
            Task {
                try await fake.wait(for: "an approval message") { state in
                    state.messages.contains { !$0.buttons.isEmpty && $0.messageID != earlier }
                }
                let message = try #require(fake.messages.first { !$0.buttons.isEmpty && $0.messageID != earlier })
                #expect(message.text.contains("POST") && message.text.contains("/notes"))
                try #require(fake.press(button, messageID: message.messageID, userID: TelegramTests.chat) != nil)
                return message.messageID
            }
        }
        let approving = tap("✅ Approve once", after: nil)
        let approved = try driver.call("http_request", ["profile": "work", "method": "POST", "path": "/notes", "body": "hello"])
        let first = try await approving.value
        #expect(!approved.isError)
        #expect(approved.structured["status"] as? Int == 201)
        #expect(upstream.requests(to: "/api/notes").map(\.bytes) == [Data("hello".utf8)], "the agent's bytes, once")

        let denying = tap("🚫 Deny", after: first)
        let denied = try driver.call("http_request", ["profile": "work", "method": "POST", "path": "/notes", "body": "again"])
        _ = try await denying.value
        #expect(denied.isError)
        #expect(denied.structured["error"] as? String == "approval_denied")
        #expect(upstream.requests(to: "/api/notes").count == 1, "a denied call never reaches the upstream")
        driver.finish()
        let audit = try String(contentsOfFile: sandbox.dir.file("data/audit.jsonl"), encoding: .utf8)
        let records = audit.split(separator: "\n").compactMap { Sandbox.json(String($0)) }
        let decided = records.filter { $0["event"] as? String == "approval" }
        #expect(records.filter { $0["event"] as? String == "approval_held" && $0["agent"] as? String == "openclaw" }.count == 2)
        #expect(decided.map { $0["outcome"] as? String } == ["approved", "denied"])
        #expect(decided.allSatisfy { $0["by_id"] as? String == String(TelegramTests.chat) })
        #expect(!audit.contains(key))
    }

    /// What no SDK sends: no key, a wrong method, a web page's Origin, broken JSON, a header that
    /// disagrees with the body. Each gets a clear answer, and the endpoint keeps serving.
    @Test func hostileRequestsAreRefusedAndServingGoesOn() async throws {
        let idp = try LocalIdP.load()
        let probe = Sandbox(idp: idp)
        let (key, hash) = try Self.agentKey(probe)
        probe.remove()
        let sandbox = Sandbox(idp: idp, config: Self.config(idp, upstream: URL(string: "http://127.0.0.1:9")!, hash: hash))
        defer { sandbox.remove() }
        let gateway = try Gateway(sandbox)
        defer { _ = gateway.stop() }
        let transport = AsyncHTTPTransport.shared
        let meta = #""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#
        let list = #"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{\#(meta)}}"#
        let modern = [("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", "tools/list")]
        func post(_ body: String, key: String?, headers: [(String, String)] = modern, method: String = "POST") async throws
            -> IncomingResponse
        {
            try await transport.send(
                OutgoingRequest(
                    method: method, url: gateway.url, headers: [("Content-Type", "application/json")] + headers,
                    authorization: key.map { Secret("Bearer " + $0) }, body: Secret(body)))
        }
        func code(_ response: IncomingResponse) -> Int? {
            ((try? JSONSerialization.jsonObject(with: response.body)) as? [String: Any]).flatMap { $0["error"] as? [String: Any] }?["code"]
                as? Int
        }

        #expect(try await post(list, key: nil).status == 401)
        #expect(try await post(list, key: "dg_wrong").status == 401)
        #expect(try await post(list, key: key, method: "GET").status == 405)
        #expect(try await post(list, key: key, headers: modern + [("Origin", "http://evil.example")]).status == 403)
        let broken = try await post("{\"jsonrpc\":", key: key)
        #expect(broken.status == 400 && code(broken) == -32700)
        let mismatch = try await post(list, key: key, headers: [("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", "tools/call")])
        #expect(mismatch.status == 400 && code(mismatch) == -32020)
        let notification = try await post(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, key: key)
        #expect(notification.status == 202 && notification.body.isEmpty)
        let served = try await post(list, key: key)
        #expect(served.status == 200)
        let tools =
            ((try JSONSerialization.jsonObject(with: served.body) as? [String: Any])?["result"] as? [String: Any])?["tools"] as? [Any]
        #expect(tools?.count == 4)

        // A client of the handshake era works over HTTP too.
        var environment = sandbox.environment
        environment["MCP_AGENT_KEY"] = key
        let legacy = try MCPDriver(["http", gateway.url.absoluteString, "--mode", "legacy"], environment: environment)
        #expect(try legacy.connected()["protocol_version"] as? String == "2025-11-25")
        #expect(try legacy.call("sign_in_status", ["profile": "work"]).structured["state"] as? String == "not_signed_in")
        legacy.finish()
    }
}
