import AsyncHTTPClient
import DeviceGateGateway
import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import NIOCore
import NIOPosix
import Testing

/// A hostile agent against `devicegate serve`, with raw bytes where a client would be polite.
@Suite struct GatewayAttackTests {
    func status(_ answer: String) -> Int { Int(answer.dropFirst(9).prefix(3)) ?? 0 }

    @Test(arguments: [
        "/work/users/bob#/profile", "/work/users/#/profile", "/work/users/bob%23/../profile", "/work/x/..;/admin/secret",
        "/work/x/%2e%2e;/admin/secret", "/work/x/.;/admin/secret", "/work/users/..;/users/bob/profile",
    ])
    func delimitersAndPathParametersNeverWidenARule(path: String) async throws {
        let gw = try await GatewayHarness.start(allow: ["GET /users/*/profile", "GET /x/**"])
        defer { Task { await gw.stop() } }
        let answer = try await gw.raw("GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(status(answer) == 400, "\(path) → \(answer.prefix(60))")
        #expect(gw.upstream.requests.isEmpty)
    }

    @Test func anEncodedHashIsDataUpstreamNotAFragment() async throws {
        let gw = try await GatewayHarness.start(allow: ["GET /users/*/profile"])
        defer { Task { await gw.stop() } }
        let answer = try await gw.raw("GET /work/users/bob%23x/profile HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(status(answer) == 200)
        #expect(gw.upstream.requests.map(\.path) == ["/users/bob%23x/profile"])
    }

    @Test func methodAndURLOverridesNeverReachTheUpstream() async throws {
        let gw = try await GatewayHarness.start(allow: ["GET /v1.0/me", "POST /v1.0/me/notes"])
        defer { Task { await gw.stop() } }
        let overrides = [
            ("X-HTTP-Method-Override", "DELETE"), ("X-HTTP-Method", "DELETE"), ("X-Method-Override", "DELETE"),
            ("X-Original-URL", "/admin"), ("X-Rewrite-URL", "/admin"), ("X-Original-Method", "DELETE"), ("X-Forwarded-Prefix", "/admin"),
            ("X-Middleware-Subrequest", "middleware"),
        ]
        #expect(try await gw.call("GET", "/work/v1.0/me", headers: overrides).status == 200)
        let seen = try #require(gw.upstream.requests.last)
        for (name, _) in overrides { #expect(seen.header(name) == nil, "\(name) was forwarded") }
        let viaQuery = try await gw.call("POST", "/work/v1.0/me/notes?_method=DELETE", body: Data("{}".utf8))
        #expect(viaQuery.status == 400)
        #expect(gw.upstream.requests.count == 1)
    }

    @Test func theAgentKeyIsCheckedBeforeTheProfileIsRevealed() async throws {
        let (key, hash) = AgentKeys.generate()
        let gw = try await GatewayHarness.start(config: { $0.agents = ["openclaw": hash] })
        defer { Task { await gw.stop() } }
        let unknown = try await gw.call("GET", "/nosuch/x")
        let known = try await gw.call("GET", "/work/v1.0/me")
        #expect(unknown.status == 401 && known.status == 401)
        #expect(unknown.body == known.body, "the answers must not tell the profiles apart")
        let probed = try await gw.call("GET", "/nosuch/x?secret=hunter2", headers: [("Authorization", "Bearer \(key)")])
        #expect(probed.status == 404)
        let ambiguous = try await gw.call("GET", "/work/a/..;/b?secret=hunter2", headers: [("Authorization", "Bearer \(key)")])
        #expect(ambiguous.status == 400)
        #expect(try !String(contentsOfFile: gw.auditPath, encoding: .utf8).contains("hunter2"), "no query string in the audit log")
        let records = try AuditLog.read(path: gw.auditPath)
        #expect(
            records.contains { $0["event"] as? String == "denied" && $0["agent"] as? String == "openclaw" && $0["status"] as? Int == 404 })
        #expect(records.filter { $0["status"] as? Int == 401 }.count == 2)
    }

    @Test func aReflectedTokenNeverReachesTheAgent() async throws {
        let token = FakeIdentityProvider.accessToken(1)
        let gw = try await GatewayHarness.start(answer: { request in
            let authorization = request.header("Authorization") ?? ""
            // A body long enough to arrive in several chunks, with the token at awkward places.
            var body = Data(repeating: UInt8(ascii: "x"), count: 70_000) + Data(authorization.utf8)
            body += Data(repeating: UInt8(ascii: "y"), count: 65_531) + Data(token.utf8) + Data("\"\(token)\"".utf8)
            return ScriptedResponse(
                status: 200,
                headers: [
                    ("X-Echo-Authorization", authorization), ("X-Token-Only", token), ("Set-Cookie", "session=upstream; HttpOnly"),
                    ("Set-Cookie2", "a=b"), ("Content-Type", "text/plain"), ("X-Fine", "kept"),
                ], body: body)
        })
        defer { Task { await gw.stop() } }
        let answer = try await gw.call("GET", "/work/v1.0/me")
        #expect(answer.status == 200)
        #expect(gw.upstream.requests.last?.header("Authorization") == "Bearer \(token)", "the upstream did get the token")
        let text = String(decoding: answer.body, as: UTF8.self)
        #expect(!text.contains(token))
        #expect(answer.body.count == 70_000 + 7 + token.utf8.count + 65_531 + token.utf8.count * 2 + 2, "the length is unchanged")
        #expect(text.contains(String(repeating: "*", count: token.utf8.count)))
        #expect(answer.header("X-Echo-Authorization") == nil && answer.header("X-Token-Only") == nil)
        #expect(answer.header("Set-Cookie") == nil && answer.header("Set-Cookie2") == nil)
        #expect(answer.header("X-Fine") == "kept")
        let records = try await gw.auditRecords { $0.contains { $0["event"] as? String == "response" } }
        let response = try #require(records.last { $0["event"] as? String == "response" })
        #expect(response["redacted"] as? Int == 3)
        #expect((response["dropped_headers"] as? String)?.contains("x-echo-authorization") == true)
    }

    @Test(arguments: [
        "Transfer-Encoding: xchunked\r\n", "Transfer-Encoding: chunked, identity\r\n", "Transfer-Encoding: gzip, chunked\r\n",
        "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "Content-Length: 5\r\nContent-Length: 6\r\n",
    ])
    func ambiguousFramingIsRefusedBeforeTheUpstream(framing: String) async throws {
        let gw = try await GatewayHarness.start()
        defer { Task { await gw.stop() } }
        let answer = try await gw.raw("POST /work/upload HTTP/1.1\r\nHost: x\r\n\(framing)\r\n5\r\nhello\r\n0\r\n\r\n")
        #expect(status(answer) == 400, "\(framing) → \(answer.prefix(60))")
        #expect(gw.upstream.requests.isEmpty)
    }

    @Test func slowHeadersAreCutOffAndConnectionsAreCapped() async throws {
        let gw = try await GatewayHarness.start(config: {
            $0.headerTimeout = 1
            $0.maxConnections = 3
        })
        defer { Task { await gw.stop() } }
        let group = MultiThreadedEventLoopGroup.singleton
        func open() async throws -> any Channel {
            try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: gw.port).get()
        }
        let trickler = try await open()
        try await trickler.writeAndFlush(ByteBuffer(string: "GET /work/v1.0/me HTTP/1.1\r\nHo")).get()
        let started = ContinuousClock.now
        try await withTimeout(.seconds(10)) { try await trickler.closeFuture.get() }
        #expect(ContinuousClock.now - started < .seconds(5), "the header timeout closed the connection")

        var held: [any Channel] = []
        for _ in 0..<3 { held.append(try await open()) }
        try await Task.sleep(for: .milliseconds(200))
        let extra = try await withTimeout(.seconds(10)) {
            try await gw.raw("GET /work/v1.0/me HTTP/1.1\r\nHost: x\r\n\r\n")
        }
        #expect(status(extra) == 503, "\(extra.prefix(60))")
        #expect(gw.upstream.requests.isEmpty)
        for channel in held { try? await channel.close() }
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await gw.call("GET", "/work/v1.0/me").status == 200, "capacity comes back")
    }

    @Test func aRandomTargetThatIsAcceptedReachesTheUpstreamAsTheRuleMatchedIt() async throws {
        let gw = try await GatewayHarness.start(
            allow: ["GET /users/*/profile", "GET /a/**", "GET /users/bob"], config: { $0.breakerDenials = 10_000 })
        defer { Task { await gw.stop() } }
        var rng = SeededGenerator(state: 7)
        var accepted = 0
        for _ in 0..<300 {
            let path = "/work" + ["/a", "/users", "/users/bob", ""].randomElement(using: &rng)! + RequestPathInvariant.randomPath(&rng)
            let answer = try await gw.raw("GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            guard status(answer) == 200 else {
                #expect([400, 403].contains(status(answer)), "\(path) → \(answer.prefix(40))")
                continue
            }
            accepted += 1
            let seen = try #require(gw.upstream.requests.last)
            let segments = try #require(RequestPathInvariant.segments(seen.path), "\(path) reached the upstream as \(seen.path)")
            let matches =
                (segments.count == 3 && segments[0] == "users" && segments[2] == "profile") || segments.first == "a"
                || segments == ["users", "bob"]
            #expect(matches, "\(path) reached the upstream as \(seen.path), which no rule allows")
        }
        #expect(accepted > 10, "accepted \(accepted)")
    }
}

/// Fails instead of hanging when an expected close or answer never comes.
func withTimeout<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            throw CancellationError()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// The random paths of the Kit's invariant test, and an independent reading of what the
/// upstream received.
enum RequestPathInvariant {
    static let pieces = [
        "a", "users", "bob", "profile", ".", "..", "%2e", ";", ";x", "#", "%23", "%3F", "%2f", "%25", "%zz", "%c0%ae", "%20", "+", "*",
        ":", "@", "'", "(", "$", "&", "=", "[", "|", "%C3%A9", "%00",
    ]

    static func randomPath(_ rng: inout SeededGenerator) -> String {
        var path = ""
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            path += "/"
            for _ in 0..<Int.random(in: 1...2, using: &rng) { path += pieces.randomElement(using: &rng)! }
        }
        return path
    }

    static func segments(_ path: String) -> [String]? {
        guard let components = URLComponents(string: "http://upstream.example" + path), components.fragment == nil else { return nil }
        var parts = components.percentEncodedPath.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        if parts.last == "" { parts.removeLast() }
        return parts.map { $0.removingPercentEncoding ?? "\u{FFFD}" }
    }
}
