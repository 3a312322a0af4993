import DeviceGateKit
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Testing

/// The upstream pool against real loopback servers (``UpstreamTestServer``): reuse and when
/// not to, stale connections, timeouts, backpressure both ways, cancel, shutdown and TLS.
@Suite(.timeLimit(.minutes(1))) struct UpstreamPoolTests {
    static let group = MultiThreadedEventLoopGroup.singleton

    static func pool(_ configure: (inout UpstreamPool.Configuration) -> Void = { _ in }) -> UpstreamPool {
        var configuration = UpstreamPool.Configuration(connectTimeout: .seconds(2), readTimeout: .seconds(5))
        configure(&configuration)
        return UpstreamPool(group: group, configuration: configuration)
    }

    static func head(_ method: HTTPMethod = .GET, _ uri: String = "/", _ headers: [(String, String)] = []) -> HTTPRequestHead {
        HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: HTTPHeaders(headers))
    }

    /// Sends through the async form and reads the whole body.
    static func fetch(
        _ pool: UpstreamPool, _ origin: UpstreamOrigin, _ head: HTTPRequestHead = head(), body: [ByteBuffer]? = nil
    ) async throws -> (head: HTTPResponseHead, body: String) {
        let response = try await pool.send(head, body: body.map(Parts.init), to: origin)
        var collected = ByteBuffer()
        for try await var part in response.body { collected.writeBuffer(&part) }
        return (response.head, String(buffer: collected))
    }

    /// Runs one exchange through the callback form; `prepare` may steer it (on the loop).
    static func run(
        _ pool: UpstreamPool, _ origin: UpstreamOrigin, _ head: HTTPRequestHead = head(), body: [ByteBuffer] = [],
        on loop: any EventLoop = group.next(), prepare: @escaping @Sendable (UpstreamRecorder) -> Void = { _ in }
    ) async throws -> UpstreamRecorder {
        let recorder = UpstreamRecorder(loop: loop)
        try await loop.submit {
            prepare(recorder)
            let exchange = pool.start(head, to: origin, on: loop, receiver: recorder)
            recorder.exchange = exchange
            for part in body { exchange.sendBody(part) }
            exchange.endBody()
        }.get()
        try await recorder.done.futureResult.get()
        return recorder
    }

    static func eventually(_ condition: () async -> Bool) async throws {
        for _ in 0..<200 {
            if await condition() { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("condition not met within 2 s")
    }

    // MARK: Keep-alive

    @Test func keepAliveConnectionsAreReused() async throws {
        let server = try await UpstreamTestServer.start { try await $0.respond(body: "hello \($0.index)") }
        defer { Task { await server.stop() } }
        let pool = Self.pool()
        for index in 1...5 {
            let answer = try await Self.fetch(pool, server.origin)
            #expect(answer.head.status == .ok)
            #expect(answer.body == "hello \(index)")
        }
        #expect(server.accepted == 1)
        await pool.shutdown()
    }

    @Test func connectionCloseOnEitherSideIsNotReused() async throws {
        let server = try await UpstreamTestServer.start { exchange in
            if exchange.head.uri == "/close" {
                try await exchange.respond(body: "bye", headers: ["Connection: close"])
            } else {
                try await exchange.respond(body: "ok")
            }
        }
        defer { Task { await server.stop() } }
        let pool = Self.pool()
        for _ in 1...2 { #expect(try await Self.fetch(pool, server.origin, Self.head(.GET, "/close")).body == "bye") }
        #expect(server.accepted == 2)
        // Closed by the pool itself, not left idle for the server to drop.
        try await Self.eventually { await pool.connectionCounts() == (open: 0, idle: 0) }
        for _ in 1...2 { #expect(try await Self.fetch(pool, server.origin, Self.head(.GET, "/", [("Connection", "close")])).body == "ok") }
        #expect(server.accepted == 4)
        try await Self.eventually { await pool.connectionCounts() == (open: 0, idle: 0) }
        await pool.shutdown()
    }

    @Test func anAnswerReadUntilCloseIsCompleteAndNotReused() async throws {
        let server = try await UpstreamTestServer.start { exchange in
            try await exchange.write("HTTP/1.1 200 OK\r\n\r\nall of it")
            exchange.close()
        }
        defer { Task { await server.stop() } }
        let pool = Self.pool()
        #expect(try await Self.fetch(pool, server.origin).body == "all of it")
        #expect(try await Self.fetch(pool, server.origin).body == "all of it")
        #expect(server.accepted == 2)
        await pool.shutdown()
    }

    @Test func anHTTP10AnswerIsNotReused() async throws {
        let server = try await UpstreamTestServer.start { exchange in
            try await exchange.write("HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok")
        }
        defer { Task { await server.stop() } }
        let pool = Self.pool()
        for _ in 1...2 { #expect(try await Self.fetch(pool, server.origin).body == "ok") }
        #expect(server.accepted == 2)
        await pool.shutdown()
    }

    @Test func anIdleConnectionTheServerClosedLeavesThePool() async throws {
        let server = try await UpstreamTestServer.start { exchange in
            try await exchange.respond(body: "once")
            try await Task.sleep(for: .milliseconds(50))
            exchange.close()
        }
        defer { Task { await server.stop() } }
        let pool = Self.pool()
        #expect(try await Self.fetch(pool, server.origin).body == "once")
        try await Self.eventually { await pool.connectionCounts().open == 0 }
        #expect(try await Self.fetch(pool, server.origin).body == "once")
        #expect(server.accepted == 2)
        await pool.shutdown()
    }

    @Test func idleConnectionsExpireAfterTheIdleTimeout() async throws {
        let server = try await UpstreamTestServer.start { try await $0.respond(body: "ok") }
        defer { Task { await server.stop() } }
        let pool = Self.pool { $0.idleTimeout = .milliseconds(100) }
        _ = try await Self.fetch(pool, server.origin)
        #expect(await pool.connectionCounts().idle == 1)
        try await Self.eventually { server.closed == 1 }
        #expect(await pool.connectionCounts().open == 0)
        await pool.shutdown()
    }

    @Test func aStaleKeepAliveConnectionIsRetriedOnceOnAFreshOne() async throws {
        // The second request on the first connection meets a server that closed it meanwhile.
        let server = try await UpstreamTestServer.start { exchange in
            if exchange.connection == 1, exchange.index == 2 { return exchange.close() }
            try await exchange.respond(body: "c\(exchange.connection)")
        }
        defer { Task { await server.stop() } }
        let pool = Self.pool()
        #expect(try await Self.fetch(pool, server.origin).body == "c1")
        let retried = try await Self.run(pool, server.origin, on: pool.loop(for: server.origin))
        #expect(retried.failure == nil)
        #expect(String(buffer: retried.body) == "c2")
        #expect(server.accepted == 2)
        await pool.shutdown()
    }

    @Test func aStaleConnectionIsNotRetriedOnceBodyBytesWentOut() async throws {
        let server = try await UpstreamTestServer.start { exchange in
            if exchange.connection == 1, exchange.index == 2 { return exchange.close() }
            _ = try await exchange.body()
            try await exchange.respond(body: "c\(exchange.connection)")
        }
        defer { Task { await server.stop() } }
        let pool = Self.pool()
        #expect(try await Self.fetch(pool, server.origin).body == "c1")
        let post = Self.head(.POST, "/", [("Content-Length", "4")])
        let failed = try await Self.run(pool, server.origin, post, body: [ByteBuffer(string: "data")], on: pool.loop(for: server.origin))
        #expect(failed.failure?.kind == .closed)
        #expect(server.accepted == 1)
        await pool.shutdown()
    }

    // MARK: Failures

    @Test func aRefusedConnectionFails() async throws {
        let server = try await UpstreamTestServer.start { try await $0.respond() }
        let origin = server.origin
        await server.stop()
        let pool = Self.pool()
        let failed = try await Self.run(pool, origin)
        #expect(failed.failure?.kind == .connect)
        #expect(failed.events == ["failed"])
        await #expect(throws: UpstreamFailure.self) { try await Self.fetch(pool, origin) }
        await pool.shutdown()
    }

    @Test func silenceBeyondTheReadTimeoutFailsAndClosesTheConnection() async throws {
        let server = try await UpstreamTestServer.start { exchange in
            _ = try await exchange.body()
            try await Task.sleep(for: .seconds(5))
        }
        defer { Task { await server.stop() } }
        let pool = Self.pool { $0.readTimeout = .milliseconds(200) }
        let started = ContinuousClock.now
        let failed = try await Self.run(pool, server.origin)
        #expect(failed.failure?.kind == .timeout)
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(await pool.connectionCounts().open == 0)
        await pool.shutdown()
    }

    @Test func aSlowButSteadyAnswerIsNoTimeout() async throws {
        let server = try await UpstreamTestServer.start { exchange in
            try await exchange.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
            for byte in "abcde" {
                try await Task.sleep(for: .milliseconds(100))
                try await exchange.write(String(byte))
            }
        }
        defer { Task { await server.stop() } }
        let pool = Self.pool { $0.readTimeout = .milliseconds(250) }
        #expect(try await Self.fetch(pool, server.origin).body == "abcde")
        await pool.shutdown()
    }

    @Test func redirectsAreReturnedAndBodiesLeftCompressed() async throws {
        let server = try await UpstreamTestServer.start { exchange in
            if exchange.head.uri == "/moved" {
                try await exchange.respond("302 Found", headers: ["Location: http://127.0.0.1:1/elsewhere"])
            } else {
                try await exchange.respond(body: "\u{1f}\u{8b}raw", headers: ["Content-Encoding: gzip"])
            }
        }
        defer { Task { await server.stop() } }
        let pool = Self.pool()
        let moved = try await Self.fetch(pool, server.origin, Self.head(.GET, "/moved"))
        #expect(moved.head.status == .found)
        #expect(moved.head.headers["location"] == ["http://127.0.0.1:1/elsewhere"])
        let packed = try await Self.fetch(pool, server.origin, Self.head(.GET, "/packed", [("Accept-Encoding", "gzip")]))
        #expect(packed.body == "\u{1f}\u{8b}raw")
        #expect(packed.head.headers["content-encoding"] == ["gzip"])
        await pool.shutdown()
    }

    // MARK: Framing

    @Test func headAnd204And304AnswersEndWithoutABodyAndKeepTheConnection() async throws {
        let server = try await UpstreamTestServer.start { exchange in
            switch exchange.head.uri {
            case "/head": try await exchange.write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
            case "/204": try await exchange.write("HTTP/1.1 204 No Content\r\n\r\n")
            case "/304": try await exchange.write("HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n")
            default: try await exchange.respond(body: "after")
            }
        }
        defer { Task { await server.stop() } }
        let pool = Self.pool()
        let head = try await Self.fetch(pool, server.origin, Self.head(.HEAD, "/head"))
        #expect(head.head.headers["content-length"] == ["1000"])
        #expect(head.body.isEmpty)
        #expect(try await Self.fetch(pool, server.origin, Self.head(.GET, "/204")).head.status == .noContent)
        #expect(try await Self.fetch(pool, server.origin, Self.head(.GET, "/304")).head.status == .notModified)
        #expect(try await Self.fetch(pool, server.origin).body == "after")
        #expect(server.accepted == 1)
        await pool.shutdown()
    }

    @Test func aChunkedRequestBodyArrivesWhole() async throws {
        let seen = NIOLockedValueBox<(String?, String)>((nil, ""))
        let server = try await UpstreamTestServer.start { exchange in
            let body = try await exchange.body()
            seen.withLockedValue { $0 = (exchange.head.headers.first(name: "transfer-encoding"), String(buffer: body)) }
            try await exchange.respond(body: "got it")
        }
        defer { Task { await server.stop() } }
        let pool = Self.pool()
        let head = Self.head(.POST, "/upload", [("Transfer-Encoding", "chunked")])
        let parts = ["one,", "two,", "three"].map { ByteBuffer(string: $0) }
        #expect(try await Self.fetch(pool, server.origin, head, body: parts).body == "got it")
        #expect(seen.withLockedValue { $0 } == ("chunked", "one,two,three"))
        #expect(try await Self.fetch(pool, server.origin).body == "got it")
        #expect(server.accepted == 1)
        await pool.shutdown()
    }

    /// Body bytes the head does not frame would be read as another request on the connection:
    /// they are never sent, the exchange fails and the connection closes.
    @Test func bodyBytesTheHeadDoesNotFrameAreNeverSent() async throws {
        let seen = NIOLockedValueBox<[String]>([])
        let server = try await UpstreamTestServer.start { exchange in
            seen.withLockedValue { $0.append("\(exchange.head.method) \(exchange.head.uri)") }
            try await exchange.respond(body: "ok")
        }
        defer { Task { await server.stop() } }
        let pool = Self.pool()
        let smuggled = ByteBuffer(string: "GET /admin HTTP/1.1\r\nHost: x\r\n\r\n")
        let unframed = try await Self.run(pool, server.origin, Self.head(.GET, "/a"), body: [smuggled])
        #expect(unframed.failure?.kind == .requestBody)
        let longer = try await Self.run(
            pool, server.origin, Self.head(.DELETE, "/b", [("Content-Length", "2")]), body: [ByteBuffer(string: "ok"), smuggled])
        #expect(longer.failure?.kind == .requestBody)
        let shorter = try await Self.run(pool, server.origin, Self.head(.PUT, "/c", [("Content-Length", "100")]), body: [smuggled])
        #expect(shorter.failure?.kind == .requestBody)
        let trace = try await Self.run(pool, server.origin, Self.head(.TRACE, "/d", [("Content-Length", "4")]), body: [smuggled])
        #expect(trace.failure?.kind == .requestBody)
        let malformed = try await Self.run(pool, server.origin, Self.head(.POST, "/e", [("Content-Length", "+4")]))
        #expect(malformed.failure?.kind == .requestBody)
        try await Task.sleep(for: .milliseconds(100))
        #expect(!seen.withLockedValue { $0 }.contains("GET /admin"))
        #expect(await pool.connectionCounts().open == 0)
        await pool.shutdown()
    }

    @Test func frameBodySaysHowTheBodyEnds() {
        var head = Self.head(.GET, "/", [("Content-Length", "9"), ("Transfer-Encoding", "gzip")])
        head.frameBody(present: true, length: 4)
        #expect(head.headers["content-length"] == ["4"] && head.headers["transfer-encoding"].isEmpty)
        head.frameBody(present: true, length: nil)
        #expect(head.headers["content-length"].isEmpty && head.headers["transfer-encoding"] == ["chunked"])
        head.frameBody(present: false, length: nil)
        #expect(head.headers["content-length"].isEmpty && head.headers["transfer-encoding"].isEmpty)
        var post = Self.head(.POST)
        post.frameBody(present: false, length: nil)
        #expect(post.headers["content-length"] == ["0"])
    }

    @Test func theHostHeaderIsTheOrigins() async throws {
        let host = NIOLockedValueBox<[String]>([])
        let server = try await UpstreamTestServer.start { exchange in
            host.withLockedValue { $0 = exchange.head.headers["host"] }
            try await exchange.respond()
        }
        defer { Task { await server.stop() } }
        let pool = Self.pool()
        _ = try await Self.fetch(pool, server.origin, Self.head(.GET, "/", [("Host", "evil.example")]))
        #expect(host.withLockedValue { $0 } == ["127.0.0.1:\(server.port)"])
        await pool.shutdown()
    }

    // MARK: Backpressure

    static let eightMiB = 8 << 20

    /// 8 MiB out, echoed back as it is read, with a server that reads slowly: both bodies stream.
    @Test func eightMebibytesStreamBothWays() async throws {
        let server = try await UpstreamTestServer.start { exchange in
            try await exchange.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            var parts = 0
            while let part = try await exchange.nextPart() {
                parts += 1
                if parts % 64 == 0 { try await Task.sleep(for: .milliseconds(5)) }
                try await exchange.write(String(part.readableBytes, radix: 16) + "\r\n")
                try await exchange.write(part)
                try await exchange.write("\r\n")
            }
            try await exchange.write("0\r\n\r\n")
        }
        defer { Task { await server.stop() } }
        let pool = Self.pool()
        let chunk = ByteBuffer(bytes: (0..<(64 << 10)).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let parts = Array(repeating: chunk, count: Self.eightMiB / chunk.readableBytes)
        let head = Self.head(.POST, "/echo", [("Content-Length", String(Self.eightMiB))])
        let response = try await pool.send(head, body: Parts(parts), to: server.origin)
        var pattern = chunk
        pattern.writeImmutableBuffer(chunk)
        let period = chunk.readableBytes
        var received = 0
        var matches = true
        for try await part in response.body {
            var offset = 0
            while offset < part.readableBytes {
                let length = min(part.readableBytes - offset, period)
                let expected = pattern.getSlice(at: (received + offset) % period, length: length)
                matches = matches && part.getSlice(at: part.readerIndex + offset, length: length) == expected
                offset += length
            }
            received += part.readableBytes
        }
        #expect(received == Self.eightMiB)
        #expect(matches)
        await pool.shutdown()
    }

    /// The connection stops taking body while the upstream does not read, and says so.
    @Test func requestBodyBackpressureFollowsTheUpstreamsReading() async throws {
        let server = try await UpstreamTestServer.start { exchange in
            try await Task.sleep(for: .milliseconds(300))
            let body = try await exchange.body()
            try await exchange.respond(body: String(body.readableBytes))
        }
        defer { Task { await server.stop() } }
        let pool = Self.pool()
        let pump = BodyPump(chunk: ByteBuffer(repeating: 0x61, count: 64 << 10), total: 64)
        let loop = Self.group.next()
        let recorder = UpstreamRecorder(loop: loop)
        try await loop.submit {
            recorder.onWritable = { recorder, writable in pump.writable(writable, recorder.exchange) }
            let head = Self.head(.PUT, "/", [("Content-Length", String(pump.total * pump.chunk.readableBytes))])
            recorder.exchange = pool.start(head, to: server.origin, on: loop, receiver: recorder)
            pump.run(recorder.exchange)
        }.get()
        try await recorder.done.futureResult.get()
        #expect(recorder.failure == nil)
        #expect(String(buffer: recorder.body) == String(pump.total * pump.chunk.readableBytes))
        #expect(recorder.writability.contains(false))
        let blockedAt = try #require(try await loop.submit { pump.sentWhenBlocked }.get())
        #expect(blockedAt < pump.total)
        await pool.shutdown()
    }

    /// A paused exchange reads nothing more from the upstream until it is resumed.
    @Test func aPausedExchangeStopsReadingTheUpstream() async throws {
        let size = 16 << 20
        let server = try await StreamingUpstream.start(size: size)
        defer { Task { await server.stop() } }
        let pool = Self.pool()
        let loop = Self.group.next()
        let recorder = UpstreamRecorder(loop: loop)
        try await loop.submit {
            recorder.onBody = { recorder, _ in
                recorder.onBody = nil
                recorder.exchange?.pauseResponse()
            }
            recorder.exchange = pool.start(Self.head(), to: server.origin, on: loop, receiver: recorder)
            recorder.exchange?.endBody()
        }.get()
        try await Task.sleep(for: .milliseconds(300))
        let first = try await loop.submit { recorder.body.readableBytes }.get()
        try await Task.sleep(for: .milliseconds(300))
        let second = try await loop.submit { recorder.body.readableBytes }.get()
        #expect(first == second)
        #expect(second < 1 << 20)
        try await loop.submit { recorder.exchange?.resumeResponse() }.get()
        try await recorder.done.futureResult.get()
        #expect(recorder.body.readableBytes == size)
        #expect(recorder.failure == nil)
        await pool.shutdown()
    }

    /// The async body reads no further ahead than its small buffer: with the reader asleep,
    /// the upstream can only fill the sockets' buffers (at most 36 MiB on this kernel).
    @Test func theAsyncBodyHoldsTheUpstreamBackForASlowReader() async throws {
        let size = 64 << 20
        let server = try await StreamingUpstream.start(size: size)
        defer { Task { await server.stop() } }
        let pool = Self.pool()
        let response = try await pool.send(Self.head(), body: nil as Parts?, to: server.origin)
        var iterator = response.body.makeAsyncIterator()
        var received = try await iterator.next()?.readableBytes ?? 0
        try await Task.sleep(for: .milliseconds(700))
        #expect(server.sent < 48 << 20)
        while let part = try await iterator.next() { received += part.readableBytes }
        #expect(received == size)
        await pool.shutdown()
    }

    // MARK: Cancel, shutdown, leaks

    @Test func cancellingMidAnswerClosesTheConnectionAndReportsNothingMore() async throws {
        let server = try await UpstreamTestServer.start { exchange in
            try await exchange.write("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\nfirst")
            try await Task.sleep(for: .milliseconds(100))
            try await exchange.write("second")
            try await Task.sleep(for: .seconds(2))
        }
        defer { Task { await server.stop() } }
        let pool = Self.pool()
        let loop = Self.group.next()
        let recorder = UpstreamRecorder(loop: loop)
        try await loop.submit {
            recorder.onBody = { recorder, _ in
                recorder.exchange?.cancel()
                recorder.done.succeed()
            }
            recorder.exchange = pool.start(Self.head(), to: server.origin, on: loop, receiver: recorder)
            recorder.exchange?.endBody()
        }.get()
        try await recorder.done.futureResult.get()
        try await Self.eventually { server.closed == 1 }
        try await Task.sleep(for: .milliseconds(150))
        let events = try await loop.submit { recorder.events }.get()
        #expect(events == ["head", "body"])
        #expect(await pool.connectionCounts().open == 0)
        await pool.shutdown()
    }

    @Test func shutdownClosesIdleAndBusyConnectionsAndRefusesLaterExchanges() async throws {
        let server = try await UpstreamTestServer.start { exchange in
            if exchange.head.uri == "/hang" { try await Task.sleep(for: .seconds(3)) }
            try await exchange.respond(body: "ok")
        }
        defer { Task { await server.stop() } }
        let pool = Self.pool()
        let loop = Self.group.next()
        let busy = UpstreamRecorder(loop: loop)
        try await loop.submit {
            busy.exchange = pool.start(Self.head(.GET, "/hang"), to: server.origin, on: loop, receiver: busy)
            busy.exchange?.endBody()
        }.get()
        #expect(try await Self.run(pool, server.origin, on: loop).failure == nil)
        #expect(await pool.connectionCounts() == (open: 2, idle: 1))
        await pool.shutdown()
        try await busy.done.futureResult.get()
        #expect(busy.failure?.kind == .shutdown)
        #expect(await pool.connectionCounts().open == 0)
        try await Self.eventually { server.closed >= 1 }
        let later = try await Self.run(pool, server.origin, on: loop)
        #expect(later.failure?.kind == .shutdown)
        #expect(server.accepted == 2)
    }

    /// The receiver holds its exchange and never lets go: only the pool breaking the cycle
    /// after the final callback frees both.
    @Test func receiversAndExchangesAreReleasedAfterTheLastCallback() async throws {
        let server = try await UpstreamTestServer.start { exchange in
            if exchange.head.uri == "/fail" { return exchange.close() }
            try await exchange.respond(body: "x")
        }
        defer { Task { await server.stop() } }
        let pool = Self.pool()
        let loop = Self.group.next()
        var survivors = 0
        for index in 0..<200 {
            let head = Self.head(.GET, index % 4 == 0 ? "/fail" : "/")
            let watch = try await loop.submit { () -> Watch in
                let holder = Holder(loop: loop)
                holder.exchange = pool.start(head, to: server.origin, on: loop, receiver: holder)
                holder.exchange?.endBody()
                return Watch(holder: holder, exchange: holder.exchange, done: holder.done.futureResult)
            }.get()
            try await watch.done.get()
            try await Task.sleep(for: .milliseconds(1))
            survivors += try await loop.submit { watch.alive }.get()
        }
        #expect(survivors == 0)
        await pool.shutdown()
    }

    // MARK: TLS

    /// An https server with a fresh self-signed certificate for `name`, and a pool that trusts
    /// it or only the system's roots.
    static func https(name: String = "localhost", trusted: Bool) async throws -> (UpstreamTestServer, UpstreamPool, UpstreamOrigin) {
        let identity = try TestCertificate.make(name: name)
        let server = try await UpstreamTestServer.start(tls: identity.serverContext) { try await $0.respond(body: "secure") }
        var tls = TLSConfiguration.makeClientConfiguration()
        if trusted { tls.trustRoots = .certificates([identity.certificate]) }
        let origin = try UpstreamOrigin(url: URL(string: "https://localhost:\(server.port)")!)
        return (server, Self.pool { $0.tls = tls }, origin)
    }

    @Test func httpsWithATrustedCertificateWorksAndIsReused() async throws {
        let (server, pool, origin) = try await Self.https(trusted: true)
        defer { Task { await server.stop() } }
        for _ in 1...3 { #expect(try await Self.fetch(pool, origin).body == "secure") }
        #expect(server.accepted == 1)
        await pool.shutdown()
    }

    @Test func httpsWithAnUntrustedCertificateFails() async throws {
        let (server, pool, origin) = try await Self.https(trusted: false)
        defer { Task { await server.stop() } }
        let failed = try await Self.run(pool, origin)
        #expect(failed.failure?.kind == .tls)
        #expect(failed.head == nil)
        await pool.shutdown()
    }

    @Test func aCertificateForAnotherNameFails() async throws {
        let (server, pool, origin) = try await Self.https(name: "other.example", trusted: true)
        defer { Task { await server.stop() } }
        #expect(try await Self.run(pool, origin).failure?.kind == .tls)
        await pool.shutdown()
    }

    @Test func onlyHTTPAndHTTPSOriginsAreAccepted() throws {
        #expect(throws: UpstreamFailure.self) { try UpstreamOrigin(url: URL(string: "ftp://example.com")!) }
        #expect(throws: UpstreamFailure.self) { try UpstreamOrigin(url: URL(string: "file:///etc/passwd")!) }
        let origin = try UpstreamOrigin(url: URL(string: "HTTPS://API.Example.com/v1")!)
        #expect(origin == (try UpstreamOrigin(url: URL(string: "https://api.example.com:443/other")!)))
        #expect(origin.authority == "api.example.com")
        #expect(try UpstreamOrigin(url: URL(string: "http://[::1]:8080/")!).authority == "[::1]:8080")
    }
}

/// Sends a body while the exchange is writable, and again when it says it is; on the loop.
final class BodyPump: @unchecked Sendable {
    let chunk: ByteBuffer
    let total: Int
    var sent = 0
    var sentWhenBlocked: Int?

    init(chunk: ByteBuffer, total: Int) {
        self.chunk = chunk
        self.total = total
    }

    func run(_ exchange: UpstreamExchange?) {
        guard let exchange, sent < total else { return }
        while sent < total, exchange.isWritable {
            exchange.sendBody(chunk)
            sent += 1
        }
        if sent == total { exchange.endBody() }
    }

    func writable(_ writable: Bool, _ exchange: UpstreamExchange?) {
        if !writable, sentWhenBlocked == nil { sentWhenBlocked = sent }
        if writable { run(exchange) }
    }
}

/// A request body given as parts, as an async sequence.
struct Parts: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let parts: [ByteBuffer]
    init(_ parts: [ByteBuffer]) { self.parts = parts }
    struct AsyncIterator: AsyncIteratorProtocol {
        var rest: ArraySlice<ByteBuffer>
        mutating func next() async -> ByteBuffer? { rest.popFirst() }
    }
    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(rest: parts[...]) }
}

/// A receiver that keeps its exchange for good, as a careless caller would.
final class Holder: UpstreamReceiver {
    var exchange: UpstreamExchange?
    let done: EventLoopPromise<Void>
    init(loop: any EventLoop) {
        let done = loop.makePromise(of: Void.self)
        self.done = done
        loop.scheduleTask(in: .seconds(10)) { done.fail(UpstreamRecorder.NoFinalCallback()) }
    }
    func upstreamHead(_ head: HTTPResponseHead) {}
    func upstreamBody(_ buffer: ByteBuffer) {}
    func upstreamEnd() { done.succeed() }
    func upstreamFailed(_ error: UpstreamFailure) { done.succeed() }
    func upstreamWritabilityChanged(_ writable: Bool) {}
}

/// Weak references to a holder and its exchange, read on their loop.
final class Watch: @unchecked Sendable {
    weak var holder: Holder?
    weak var exchange: UpstreamExchange?
    let done: EventLoopFuture<Void>
    init(holder: Holder, exchange: UpstreamExchange?, done: EventLoopFuture<Void>) {
        self.holder = holder
        self.exchange = exchange
        self.done = done
    }
    var alive: Int { (holder == nil ? 0 : 1) + (exchange == nil ? 0 : 1) }
}

/// A self-signed certificate for a name, made by `openssl` for the TLS tests.
struct TestCertificate {
    let certificate: NIOSSLCertificate
    let serverContext: NIOSSLContext

    static func make(name: String = "localhost") throws -> TestCertificate {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("upstream-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let (key, cert) = (directory.appendingPathComponent("key.pem").path, directory.appendingPathComponent("cert.pem").path)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = [
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
            "-days", "1", "-subj", "/CN=\(name)", "-addext", "subjectAltName=DNS:\(name)",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        let certificate = try #require(try NIOSSLCertificate.fromPEMFile(cert).first)
        let privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
        let server = TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(certificate)], privateKey: .privateKey(privateKey))
        return TestCertificate(certificate: certificate, serverContext: try NIOSSLContext(configuration: server))
    }
}
