import AsyncHTTPClient
import Crypto
import DeviceGateGateway
import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Logging
import ServiceLifecycle
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct GatewayTests {
    @Test func injectsTheTokenAndStripsTheAgentsCredentials() async throws {
        let gw = try await GatewayHarness.start()
        defer { Task { await gw.stop() } }
        let answer = try await gw.call(
            "GET", "/work/v1.0/me?$select=displayName",
            headers: [
                ("Authorization", "Bearer agent-made-this-up"), ("Cookie", "session=abc"), ("Proxy-Authorization", "Basic eA=="),
                ("X-Forwarded-For", "6.6.6.6"), ("Connection", "keep-alive, X-Drop-Me"), ("X-Drop-Me", "1"), ("X-Request-Id", "r-1"),
                ("Accept", "application/json"), ("Host", "evil.example"),
            ])
        #expect(answer.status == 200)
        let seen = answer.echoedHeaders
        #expect(gw.upstream.requests.last?.header("Authorization") == "Bearer \(FakeIdentityProvider.accessToken(1))")
        #expect(seen["authorization"]?.hasPrefix("Bearer ****") == true, "the token echoed back is overwritten")
        #expect(seen["cookie"] == nil && seen["proxy-authorization"] == nil && seen["x-forwarded-for"] == nil && seen["x-drop-me"] == nil)
        #expect(seen["x-request-id"] == "r-1" && seen["accept"] == "application/json")
        #expect(seen["host"] == "127.0.0.1:\(gw.upstream.port)")
        #expect(answer.json["path"] as? String == "/v1.0/me")
        #expect(answer.json["query"] as? String == "$select=displayName")
        #expect(gw.upstream.requests.count == 1)
    }

    @Test func streamsLargeBodiesBothWaysAndEnforcesTheLimit() async throws {
        let big = Data((0..<(24 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let gw = try await GatewayHarness.start(config: { $0.maxRequestBytes = 32 << 20 })
        defer { Task { await gw.stop() } }
        let upload = try await gw.call("POST", "/work/upload", body: big)
        #expect(upload.status == 200, "\(upload.json)")
        #expect(upload.json["body_bytes"] as? Int == big.count)
        #expect(upload.json["body_sha256"] as? String == SHA256.hash(data: big).map { String(format: "%02x", $0) }.joined())
        let tooBig = try await gw.call("POST", "/work/upload", body: Data(count: (32 << 20) + 1))
        #expect(tooBig.status == 413)
        #expect(tooBig.json["error"] as? String == "too_large")
        let gw2 = try await GatewayHarness.start(
            allow: ["GET /download"],
            answer: { request in
                request.path == "/download"
                    ? ScriptedResponse(status: 200, headers: [("Content-Type", "application/octet-stream")], body: big) : nil
            })
        defer { Task { await gw2.stop() } }
        let download = try await gw2.call("GET", "/work/download")
        #expect(download.status == 200)
        #expect(download.body.count == big.count && SHA256.hash(data: download.body) == SHA256.hash(data: big))
    }

    @Test func allowsWhatTheRulesSayAndDeniesTheRestWithAReason() async throws {
        let gw = try await GatewayHarness.start()
        defer { Task { await gw.stop() } }
        #expect(try await gw.call("GET", "/work/v1.0/me/messages/AAMk/attachments").status == 200)
        let denied = try await gw.call("POST", "/work/v1.0/me/sendMail", body: Data("{}".utf8))
        #expect(denied.status == 403)
        #expect(denied.json["error"] as? String == "forbidden")
        #expect(denied.json["profile"] as? String == "work")
        #expect((denied.json["reason"] as? String)?.contains("no rule allows POST /v1.0/me/sendMail") == true)
        #expect(try await gw.call("GET", "/nobody/v1.0/me").status == 404)
        #expect(gw.upstream.requests.count == 1)
        // The response is recorded when its body has been relayed, so it may land after a denial.
        let events = try await gw.auditRecords { $0.count >= 4 }.map { $0["event"] as? String ?? "" }.sorted()
        #expect(events == ["denied", "denied", "request", "response"], "an unknown profile is a recorded probe too")
    }

    @Test(arguments: [
        "/work/%2e%2e/admin", "/work/v1.0/me/../../admin", "/work//v1.0/me", "/work/v1.0/%2fme", "/work/v1.0/me%00",
        "/work/%c0%ae%c0%ae/v1.0/me", "/work/v1.0/%252e%252e/me", "/work/v1.0/me/%2e", "/work/v1.0/me%5c..%5cadmin",
    ])
    func traversalAndEncodingTricksAreRefused(path: String) async throws {
        let gw = try await GatewayHarness.start(allow: ["GET /v1.0/me/**"])
        defer { Task { await gw.stop() } }
        let answer = try await gw.raw("GET \(path) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(answer.hasPrefix("HTTP/1.1 400") || answer.hasPrefix("HTTP/1.1 403"), "\(path) → \(answer.prefix(40))")
        #expect(gw.upstream.requests.isEmpty)
    }

    @Test func absoluteFormHostAndCRLFTricksNeverReachAnotherHost() async throws {
        let gw = try await GatewayHarness.start()
        defer { Task { await gw.stop() } }
        let absolute = try await gw.raw("GET http://evil.example/work/v1.0/me HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
        #expect(absolute.hasPrefix("HTTP/1.1 400"))
        let crlf = try await gw.raw("GET /work/v1.0/me%0d%0aX-Injected:%201 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        #expect(crlf.hasPrefix("HTTP/1.1 4"))
        let authority = try await gw.raw("CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example:443\r\nConnection: close\r\n\r\n")
        #expect(authority.hasPrefix("HTTP/1.1 4"))
        #expect(gw.upstream.requests.isEmpty)
        let viaHost = try await gw.raw("GET /work/v1.0/me HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n")
        #expect(viaHost.hasPrefix("HTTP/1.1 200"))
        #expect(gw.upstream.requests.count == 1)  // the Host header changed nothing
    }

    @Test func metricsCountEachOutcomeOnTheProgramsRegistry() async throws {
        let gw = try await GatewayHarness.start()
        defer { Task { await gw.stop() } }
        for _ in 0..<3 { _ = try await gw.call("GET", "/work/v1.0/me") }
        _ = try await gw.call("DELETE", "/work/v1.0/me")
        let text = gw.metricsText
        #expect(text.contains(#"devicegate_gateway_requests_total{profile="work",outcome="forwarded",status="200"} 3"#), "\(text)")
        #expect(text.contains(#"devicegate_gateway_requests_total{profile="work",outcome="forbidden",status="403"} 1"#))
        #expect(text.contains("devicegate_gateway_request_duration_seconds_count{profile=\"work\"} 3"))
    }

    @Test func redirectsArePassedBackNotFollowed() async throws {
        let gw = try await GatewayHarness.start(answer: { _ in
            ScriptedResponse(status: 302, headers: [("Location", "https://evil.example/steal")])
        })
        defer { Task { await gw.stop() } }
        let answer = try await gw.call("GET", "/work/v1.0/me")
        #expect(answer.status == 302)
        #expect(answer.header("Location") == "https://evil.example/steal")
        #expect(gw.upstream.requests.count == 1)
    }

    @Test func agentKeysAdmitOnlyKnownAgentsAndAreAudited() async throws {
        let (key, hash) = AgentKeys.generate()
        let gw = try await GatewayHarness.start(config: { $0.agents = ["openclaw": hash] })
        defer { Task { await gw.stop() } }
        #expect(try await gw.call("GET", "/work/v1.0/me").status == 401)
        #expect(try await gw.call("GET", "/work/v1.0/me", headers: [("Authorization", "Bearer dgk_wrong")]).status == 401)
        let ok = try await gw.call("GET", "/work/v1.0/me", headers: [("Authorization", "Bearer \(key)")])
        #expect(ok.status == 200)
        #expect(ok.status == 200 && gw.upstream.requests.last?.header("Authorization") == "Bearer \(FakeIdentityProvider.accessToken(1))")
        #expect(try AuditLog.read(path: gw.auditPath).contains { $0["agent"] as? String == "openclaw" })
        #expect(AgentKeys(["a": hash]).agent(for: key) == "a")
    }

    @Test func anUpstream401IsCuredByOneRefreshAndRetry() async throws {
        let gw = try await GatewayHarness.start(answer: { request in
            request.header("Authorization") == "Bearer \(FakeIdentityProvider.accessToken(1))"
                ? .json(401, ["error": "InvalidAuthenticationToken"]) : nil
        })
        defer { Task { await gw.stop() } }
        let answer = try await gw.call("GET", "/work/v1.0/me")
        #expect(answer.status == 200)
        #expect(gw.upstream.requests.last?.header("Authorization") == "Bearer \(FakeIdentityProvider.accessToken(2))")
        #expect(gw.idp.snapshot.refreshes == 1)
        let records = try await gw.auditRecords { $0.contains { $0["refreshed"] as? Bool == true } }
        #expect(records.contains { $0["refreshed"] as? Bool == true })
    }

    @Test func aThousandConcurrentRequestsAtExpiryRefreshOnce() async throws {
        let gw = try await GatewayHarness.start(remaining: 5)  // under the 300 s minimum: stale
        defer { Task { await gw.stop() } }
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<1000 {
                group.addTask { try await gw.call("GET", "/work/v1.0/me").status }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.count == 1000 && statuses.allSatisfy { $0 == 200 })
        #expect(Set(gw.upstream.requests.map { $0.header("Authorization") }) == ["Bearer \(FakeIdentityProvider.accessToken(2))"])
        #expect(gw.idp.snapshot.refreshes == 1)
    }

    @Test func notSignedInAnswers401WithTheProfile() async throws {
        let gw = try await GatewayHarness.start(signedIn: false)
        defer { Task { await gw.stop() } }
        let answer = try await gw.call("GET", "/work/v1.0/me")
        #expect(answer.status == 401)
        #expect(answer.json["error"] as? String == "sign_in_required")
        #expect(answer.json["profile"] as? String == "work")
    }

    @Test func theRateLimitAnswers429WithRetryAfter() async throws {
        let limited = try await GatewayHarness.start(settings: { $0.requestsPerMinute = 2 })
        defer { Task { await limited.stop() } }
        #expect(try await limited.call("GET", "/work/v1.0/me").status == 200)
        #expect(try await limited.call("GET", "/work/v1.0/me").status == 200)
        let third = try await limited.call("GET", "/work/v1.0/me")
        #expect(third.status == 429)
        #expect(Int(third.header("Retry-After") ?? "") ?? 0 > 0)
    }

    @Test func theRateLimitWindowSlidesOnTheInjectedClock() async throws {
        let time = ManualTime(Date())
        let gw = try await GatewayHarness.start(settings: { $0.requestsPerMinute = 2 }, time: time)
        defer { Task { await gw.stop() } }
        #expect(try await gw.call("GET", "/work/v1.0/me").status == 200)
        #expect(try await gw.call("GET", "/work/v1.0/me").status == 200)
        #expect(try await gw.call("GET", "/work/v1.0/me").status == 429)
        time.advance(61)
        #expect(try await gw.call("GET", "/work/v1.0/me").status == 200, "a minute later the window has moved on")
    }

    @Test func theBreakerCountsDenialsWithinAMinuteOfTheInjectedClock() async throws {
        let time = ManualTime(Date())
        let gw = try await GatewayHarness.start(config: { $0.breakerDenials = 3 }, time: time)
        defer { Task { await gw.stop() } }
        for _ in 0..<3 { #expect(try await gw.call("DELETE", "/work/v1.0/me").status == 403) }
        time.advance(61)
        for _ in 0..<3 { #expect(try await gw.call("DELETE", "/work/v1.0/me").status == 403) }
        #expect(try await gw.call("GET", "/work/v1.0/me").status == 200, "six denials, but never more than three in a minute")
        #expect(try await gw.call("DELETE", "/work/v1.0/me").status == 403)
        #expect(try await gw.call("GET", "/work/v1.0/me").status == 423, "the fourth within a minute locks")
    }

    @Test func theBreakerLocksRevokesAndAlertsUntilUnlocked() async throws {
        let gw = try await GatewayHarness.start(config: { $0.breakerDenials = 3 })
        defer { Task { await gw.stop() } }
        for _ in 0..<4 { _ = try await gw.call("DELETE", "/work/v1.0/me") }
        let locked = try await gw.call("GET", "/work/v1.0/me")
        #expect(locked.status == 423)
        #expect(locked.json["error"] as? String == "locked")
        #expect(try gw.store.load("work") == nil, "the stored tokens were wiped")
        #expect(!gw.idp.server.requests(to: "/revoke").isEmpty, "the tokens were revoked at the provider")
        #expect(gw.alertMessages.contains { $0.contains("locked") && $0.contains("devicegate unlock work") })
        #expect(try AuditLog.read(path: gw.auditPath).contains { $0["event"] as? String == "breaker_tripped" })
        try ProfileLock.remove("work", in: gw.store.directory)
        #expect(try await gw.call("GET", "/work/v1.0/me").status == 401)  // unlocked; a new sign-in is needed
    }

    @Test func theAuditLogChainDetectsTampering() async throws {
        let gw = try await GatewayHarness.start()
        defer { Task { await gw.stop() } }
        for _ in 0..<3 { _ = try await gw.call("GET", "/work/v1.0/me") }
        _ = try await gw.call("GET", "/work/secret")
        #expect(try AuditLog.verify(path: gw.auditPath, store: gw.store).isIntact)
        let original = try String(contentsOfFile: gw.auditPath, encoding: .utf8)
        var lines = original.split(separator: "\n").map(String.init)
        #expect(!original.contains(FakeIdentityProvider.accessToken(1)))

        func verify(_ text: String) throws -> (Int, String)? {
            try text.write(toFile: gw.auditPath, atomically: true, encoding: .utf8)
            return try AuditLog.verify(path: gw.auditPath, store: gw.store).problem
        }
        let edited = lines[1].replacingOccurrences(of: "\"status\":200", with: "\"status\":500")
        #expect(edited != lines[1])
        #expect(try verify(([lines[0], edited] + lines[2...]).joined(separator: "\n") + "\n")?.0 == 3)
        #expect(try verify((lines[0..<2] + lines[3...]).joined(separator: "\n") + "\n")?.0 == 3)  // deleted
        #expect(try verify((lines[0..<2] + [lines[1]] + lines[2...]).joined(separator: "\n") + "\n") != nil)  // inserted
        lines.removeLast()
        #expect(try verify(lines.joined(separator: "\n") + "\n") != nil)  // last line deleted
        #expect(try verify(original) == nil)
    }
}

@Suite struct GatewayListenerTests {
    @Test func aNonLoopbackListenerNeedsAgentKeysHoweverItWasSet() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try TokenStore(directory: dir.path, keyFile: nil)
        var profile = Profile(name: "work", provider: ProviderSettings(kind: .github), clientID: "c")
        profile.gateway = GatewaySettings(upstream: URL(string: "https://api.github.com")!, readOnly: true)
        var config = GatewayConfig()
        config.listen = "0.0.0.0:0"  // as `serve --listen 0.0.0.0:8787` sets it, past the config loader
        let server = GatewayServer(
            config: config, profiles: [profile], store: store, signIns: DecliningSignIn(), alerter: RecordingAlerter(),
            auditPath: dir.file("a.jsonl"))
        #expect { _ = try server.applications(logger: .init(label: "t")) } throws: { "\($0)".contains("needs agent keys") }
    }
}

@Suite struct GatewaySocketTests {
    func server(socket: String, dir: TemporaryDirectory) throws -> GatewayServer {
        let store = try TokenStore(directory: dir.path, keyFile: nil)
        var profile = Profile(name: "work", provider: ProviderSettings(kind: .github), clientID: "c")
        profile.gateway = GatewaySettings(upstream: URL(string: "https://api.github.com")!, readOnly: true)
        var config = GatewayConfig()
        config.socket = socket
        config.adminListen = "127.0.0.1:0"
        return GatewayServer(
            config: config, profiles: [profile], store: store, signIns: DecliningSignIn(), alerter: RecordingAlerter(),
            auditPath: dir.file("a.jsonl"))
    }

    @Test func refusesToReplaceAnythingButAStaleSocket() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let directory = dir.file("sock-dir")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        try Data("keep".utf8).write(to: URL(fileURLWithPath: directory + "/inside"))
        #expect { _ = try server(socket: directory, dir: dir).applications(logger: .init(label: "t")) } throws: {
            "\($0)".contains("not a socket")
        }
        #expect(FileManager.default.fileExists(atPath: directory + "/inside"), "the directory was left alone")
        let file = dir.file("plain")
        try Data("keep".utf8).write(to: URL(fileURLWithPath: file))
        #expect(throws: (any Error).self) { _ = try server(socket: file, dir: dir).applications(logger: .init(label: "t")) }
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "keep")
    }

    @Test func theSocketIsNeverOpenToOthersAndAStaleOneIsReplaced() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("gw.sock")
        // A stale socket: bound, then its process went away.
        let stale = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(stale, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        close(stale)
        let services = try server(socket: path, dir: dir).applications(logger: .init(label: "t")) { _ in }
        let group = ServiceGroup(services: services, logger: .init(label: "t"))
        let task = Task { try await group.run() }
        var st = stat()
        for _ in 0..<100 {
            if lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFSOCK, UnixSocketAnswers.check(path) { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFSOCK)
        #expect(st.st_mode & 0o777 == 0o600)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".devicegate-socket") }
        #expect(leftovers.isEmpty)
        // Stop the server as a signal would, and wait for it: a cancelled group tears the
        // channels down mid-flight.
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}

enum UnixSocketAnswers {
    static func check(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0 }
        }
    }
}
