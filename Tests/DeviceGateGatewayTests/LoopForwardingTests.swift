import Crypto
import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import NIOCore
import NIOPosix
import Testing

/// Calls forwarded on the agent connection's event loop (``LoopForwarding``): every test warms
/// the gatekeeper first (one call reads the holds and the token) on a clock that stands still,
/// so the calls under test are decided by the synchronous pass and never leave the loop.
@Suite struct LoopForwardingTests {
    static func warmed(
        allow: [String] = ["GET /v1.0/me", "GET /download", "POST /upload"],
        config: @escaping @Sendable (inout GatewayConfig) -> Void = { _ in },
        answer: @escaping @Sendable (RecordedRequest) async -> ScriptedResponse? = { _ in nil }
    ) async throws -> GatewayHarness {
        let gw = try await GatewayHarness.start(allow: allow, config: config, time: ManualTime(Date()), answer: answer)
        #expect(try await gw.call("GET", "/work/v1.0/me").status == 200, "the warm-up call")
        return gw
    }

    @Test func theTokenIsInjectedAndEveryCopyOfItKeptFromTheAgent() async throws {
        let token = FakeIdentityProvider.accessToken(1)
        let gw = try await Self.warmed(answer: { request in
            guard request.path == "/download" else { return nil }
            var body = Data(repeating: UInt8(ascii: "x"), count: 70_000) + Data(token.utf8)
            body += Data(repeating: UInt8(ascii: "y"), count: 65_531) + Data("\"\(token)\"".utf8)
            return ScriptedResponse(
                status: 200, headers: [("X-Token-Only", token), ("Set-Cookie", "a=b"), ("X-Fine", "kept")], body: body)
        })
        defer { Task { await gw.stop() } }
        let answer = try await gw.call("GET", "/work/download", headers: [("Authorization", "Bearer agent-guess")])
        #expect(answer.status == 200)
        #expect(gw.upstream.requests.last?.header("Authorization") == "Bearer \(token)")
        let text = String(decoding: answer.body, as: UTF8.self)
        #expect(!text.contains(token))
        #expect(answer.body.count == 70_000 + 65_531 + token.utf8.count * 2 + 2, "the length is unchanged")
        #expect(answer.header("X-Token-Only") == nil && answer.header("Set-Cookie") == nil && answer.header("X-Fine") == "kept")
        let records = try await gw.auditRecords { $0.filter { $0["event"] as? String == "response" }.count == 2 }
        let response = try #require(records.last { $0["event"] as? String == "response" && $0["path"] as? String == "/download" })
        #expect(response["redacted"] as? Int == 2)
        #expect(response["dropped_headers"] as? String == "x-token-only")
    }

    @Test func aRejectedTokenIsRefreshedOnceAndTheCallSentAgain() async throws {
        let gw = try await Self.warmed(answer: { request in
            request.path == "/download" && request.header("Authorization") == "Bearer \(FakeIdentityProvider.accessToken(1))"
                ? .json(401, ["error": "InvalidAuthenticationToken"]) : nil
        })
        defer { Task { await gw.stop() } }
        let answer = try await gw.call("GET", "/work/download")
        #expect(answer.status == 200)
        #expect(gw.upstream.requests.last?.header("Authorization") == "Bearer \(FakeIdentityProvider.accessToken(2))")
        #expect(gw.idp.snapshot.refreshes == 1)
        let records = try await gw.auditRecords { $0.contains { $0["refreshed"] as? Bool == true } }
        #expect(
            records.contains { $0["event"] as? String == "response" && $0["refreshed"] as? Bool == true && $0["status"] as? Int == 200 })
    }

    @Test func bodiesStreamBothWays() async throws {
        let big = Data((0..<(12 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let gw = try await Self.warmed(
            config: { $0.maxRequestBytes = 16 << 20 },
            answer: { request in
                request.path == "/download"
                    ? ScriptedResponse(status: 200, headers: [("Content-Type", "application/octet-stream")], body: big) : nil
            })
        defer { Task { await gw.stop() } }
        let upload = try await gw.call("POST", "/work/upload", body: big)
        #expect(upload.status == 200)
        #expect(upload.json["body_bytes"] as? Int == big.count)
        #expect(upload.json["body_sha256"] as? String == SHA256.hash(data: big).map { String(format: "%02x", $0) }.joined())
        let download = try await gw.call("GET", "/work/download")
        #expect(download.body.count == big.count && SHA256.hash(data: download.body) == SHA256.hash(data: big))
    }

    @Test func aChunkedBodyPastTheLimitIsRefusedAndTheConnectionClosed() async throws {
        let gw = try await Self.warmed(config: { $0.maxRequestBytes = 1000 })
        defer { Task { await gw.stop() } }
        let chunk = String(repeating: "z", count: 600)
        let answer = try await gw.raw(
            "POST /work/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n\(chunk)\r\n258\r\n\(chunk)\r\n0\r\n\r\n")
        #expect(answer.hasPrefix("HTTP/1.1 413"), "\(answer.prefix(80))")
        #expect(answer.lowercased().contains("connection: close"))
        #expect(answer.contains("too_large"))
    }

    @Test func anUpstreamThatIsGoneIsA502() async throws {
        let gw = try await Self.warmed()
        defer { Task { await gw.stop() } }
        await gw.upstream.stop()
        let answer = try await gw.call("GET", "/work/v1.0/me")
        #expect(answer.status == 502)
        #expect(answer.json["error"] as? String == "upstream_unreachable")
        #expect((answer.json["reason"] as? String)?.contains(FakeIdentityProvider.accessToken(1)) == false)
    }

    @Test func aDenialIsRecordedAndAnsweredFromTheLoop() async throws {
        let gw = try await Self.warmed()
        defer { Task { await gw.stop() } }
        let denied = try await gw.call("DELETE", "/work/v1.0/me")
        #expect(denied.status == 403)
        #expect(denied.json["error"] as? String == "forbidden")
        let records = try await gw.auditRecords { $0.contains { $0["event"] as? String == "denied" } }
        #expect(
            records.contains { $0["event"] as? String == "denied" && $0["status"] as? Int == 403 && $0["method"] as? String == "DELETE" })
    }

    @Test func anAgentThatHangsUpMidAnswerIsRecordedAsAborted() async throws {
        let big = Data(count: 32 << 20)
        let gw = try await Self.warmed(answer: { request in
            request.path == "/download" ? ScriptedResponse(status: 200, body: big) : nil
        })
        defer { Task { await gw.stop() } }
        // An agent that asks and never reads the answer, then hangs up.
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).channelOption(.autoRead, value: false)
            .connect(host: "127.0.0.1", port: gw.port).get()
        try await channel.writeAndFlush(ByteBuffer(string: "GET /work/download HTTP/1.1\r\nHost: x\r\n\r\n")).get()
        try await Task.sleep(for: .milliseconds(300))
        try await channel.close()
        let records = try await gw.auditRecords { $0.contains { $0["outcome"] as? String == "aborted" } }
        let aborted = try #require(records.last { $0["event"] as? String == "response" && $0["path"] as? String == "/download" })
        #expect(aborted["outcome"] as? String == "aborted", "\(records)")
        #expect((aborted["bytes"] as? Int ?? 0) < big.count)
    }

    /// The upstream head says how the body ends as the agent announced it, whatever the method
    /// (the pool refuses body bytes a head does not frame).
    @Test func aBodyIsFramedAsTheAgentAnnouncedItWhateverTheMethod() async throws {
        let gw = try await Self.warmed()
        defer { Task { await gw.stop() } }
        let withLength = try await gw.call("GET", "/work/v1.0/me", body: Data("hello".utf8))
        #expect(withLength.status == 200)
        #expect(withLength.json["body_bytes"] as? Int == 5)
        let chunked = try await gw.raw("GET /work/v1.0/me HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        #expect(chunked.hasPrefix("HTTP/1.1 200"), "\(chunked.prefix(80))")
        #expect(chunked.contains("\"body_bytes\":3"))
        let bodiless = try await gw.call("POST", "/work/upload")
        #expect(bodiless.status == 200)
        #expect(gw.upstream.requests.last?.header("Content-Length") == "0")
    }

    /// A graceful stop (SIGTERM) lets a call being forwarded finish before the listener closes.
    @Test func aGracefulStopLetsTheCallInFlightFinish() async throws {
        let gw = try await Self.warmed(answer: { request in
            guard request.path == "/download" else { return nil }
            try? await Task.sleep(for: .milliseconds(800))
            return .json(200, ["slow": true])
        })
        defer { Task { await gw.stop() } }
        async let answer = gw.call("GET", "/work/download")
        try await Task.sleep(for: .milliseconds(300))
        await gw.stopServing()
        let finished = try await answer
        #expect(finished.status == 200)
        #expect(finished.json["slow"] as? Bool == true)
        await #expect(throws: (any Error).self, "the listener is closed") {
            _ = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: gw.port).get()
        }
    }
}
