import AsyncHTTPClient
import DeviceGateKit
import DeviceGatePostgres
import DeviceGateTestSupport
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOFoundationCompat
import Testing

/// Several `devicegate serve` replicas (separate data directories) on one PostgreSQL, against
/// the real Glewlwyd, whose refresh tokens rotate: a second refresh with the same refresh token
/// fails, so "all calls succeeded" after a storm means the replicas refreshed once between them.
@Suite(.serialized) struct PostgresReplicaTests {
    /// Calls in the refresh storm, spread over three replicas: 1,000 are answered in about 4 s
    /// on two cores (1 s of it the held refresh); DEVICEGATE_STORM_CALLS changes it.
    static let stormCalls = Int(ProcessInfo.processInfo.environment["DEVICEGATE_STORM_CALLS"] ?? "") ?? 1000

    /// Signs in on the first host, starts `serve` on `serving` hosts, waits until each answers
    /// with the signed-in token, runs `body`, and cleans up however it ends.
    func withReplicas(
        _ count: Int, serving: Int? = nil, tokenEndpoint: String? = nil, profileExtra: String = "",
        _ body: (Replicas, [ServeProcess], HTTPClient) async throws -> Void
    ) async throws {
        let idp = try LocalIdP.load()
        let replicas = try await Replicas.make(count, idp: idp, tokenEndpoint: tokenEndpoint, profileExtra: profileExtra)
        var servers: [ServeProcess] = []
        let client = HTTPClient.agents()
        do {
            let login = try replicas.hosts[0].login("work") { try idp.approve($0) }
            try #require(login.result.status == 0, "login: \(login.result.stderr)")
            servers = try replicas.hosts.prefix(serving ?? count).map(ServeProcess.init)
            for server in servers { try await server.ready(client) }
            for server in servers {
                let answer = await client.call(server.url)
                try #require(answer.status == 200, "warm-up call: \(answer.body) \(server.output)")
            }
            try await body(replicas, servers, client)
        } catch {
            for server in servers { server.stop() }
            try? await client.shutdown()
            await replicas.remove()
            throw error
        }
        for server in servers { server.stop() }
        try await client.shutdown()
        await replicas.remove()
    }

    @Test func aStormAcrossThreeReplicasRefreshesOnce() async throws {
        let idp = try LocalIdP.load()
        // Glewlwyd's token endpoint behind a proxy that takes a second to answer once armed, so
        // every replica is inside the refresh at once: without the database lock, each would
        // refresh with the same refresh token and all but one would be refused.
        let armed = NIOLockedValueBox(false)
        let forwarded = NIOLockedValueBox(0)
        let upstream = HTTPClient(eventLoopGroupProvider: .singleton)
        let proxy = try await LoopbackServer.start { request in
            if armed.withLockedValue({ $0 }) {
                forwarded.withLockedValue { $0 += 1 }
                try? await Task.sleep(for: .seconds(1))
            }
            return await Self.forward(request, to: idp.issuer + "/token", with: upstream)
        }
        defer { Task { await proxy.stop() } }
        try await withReplicas(3, tokenEndpoint: proxy.url("/token").absoluteString) { replicas, servers, client in
            armed.withLockedValue { $0 = true }
            let before = try replicas.refreshes()
            let stale = try await replicas.expireStoredToken()
            // The replicas hold the old token in memory until the store's NOTIFY reaches them;
            // without it they would answer from memory and nobody would refresh.
            try await Task.sleep(for: .milliseconds(500))
            let started = ContinuousClock.now
            let results = await withTaskGroup(of: CallResult.self) { group in
                for index in 0..<Self.stormCalls { group.addTask { await client.call(servers[index % servers.count].url) } }
                return await group.reduce(into: [CallResult]()) { $0.append($1) }
            }
            let elapsed = ContinuousClock.now - started
            let statuses = Dictionary(grouping: results, by: \.status).mapValues(\.count)
            #expect(statuses == [200: Self.stormCalls], "\(statuses): \(results.first { $0.status != 200 }?.body ?? "")")
            #expect(try replicas.refreshes() - before == 1, "refreshes across the replicas' audit logs")
            #expect(forwarded.withLockedValue { $0 } == 1, "refresh requests that reached the identity provider")
            let stored = try await replicas.withStore { try await $0.load("work") }
            #expect(stored?.tokens.refreshToken != stale.tokens.refreshToken, "the refresh token rotated")
            print("refresh storm: \(Self.stormCalls) calls across \(servers.count) replicas answered in \(elapsed), 1 refresh")
        }
        try await upstream.shutdown()
    }

    @Test func killingTheLockHolderMidRefreshLetsAnotherReplicaFinishIt() async throws {
        let idp = try LocalIdP.load()
        // A token endpoint in front of Glewlwyd's: once armed, the first refresh is held (as a
        // slow provider would) and never forwarded, so its refresh token stays unused.
        let armed = NIOLockedValueBox(false)
        let held = NIOLockedValueBox(0)
        let forwarded = NIOLockedValueBox(0)
        let arrival = AsyncStream<Void>.makeStream()
        let upstream = HTTPClient(eventLoopGroupProvider: .singleton)
        let proxy = try await LoopbackServer.start { request in
            if armed.withLockedValue({ $0 }),
                held.withLockedValue({
                    $0 += 1; return $0
                }) == 1
            {
                arrival.continuation.yield()
                try? await Task.sleep(for: .seconds(20))
                return .dropped
            }
            forwarded.withLockedValue { $0 += 1 }
            return await Self.forward(request, to: idp.issuer + "/token", with: upstream)
        }
        do {
            try await withReplicas(3, tokenEndpoint: proxy.url("/token").absoluteString) { replicas, servers, client in
                _ = try await replicas.expireStoredToken()
                try await Task.sleep(for: .milliseconds(500))
                armed.withLockedValue { $0 = true }
                let before = forwarded.withLockedValue { $0 }
                // Replica 0 alone takes the lock and starts the refresh, which hangs at the proxy.
                let holder = Task { await client.call(servers[0].url) }
                for await _ in arrival.stream { break }
                // The others queue behind the database lock.
                let waiting = Task {
                    await withTaskGroup(of: CallResult.self) { group in
                        for index in 0..<40 { group.addTask { await client.call(servers[1 + index % 2].url) } }
                        return await group.reduce(into: [CallResult]()) { $0.append($1) }
                    }
                }
                try await Task.sleep(for: .seconds(1))
                servers[0].kill()
                let results = await waiting.value
                _ = await holder.value
                let statuses = Dictionary(grouping: results, by: \.status).mapValues(\.count)
                #expect(statuses == [200: 40], "\(statuses): \(results.first { $0.status != 200 }?.body ?? "")")
                #expect(forwarded.withLockedValue { $0 } - before == 1, "exactly one refresh reached the identity provider")
                #expect(try replicas.refreshes() == 1)
                // Nothing lost: the stored tokens work on every surviving replica.
                for server in servers.dropFirst() { #expect(await client.call(server.url).status == 200) }
            }
        } catch {
            await proxy.stop()
            try? await upstream.shutdown()
            throw error
        }
        await proxy.stop()
        try await upstream.shutdown()
    }

    @Test func aDatabaseRestartIsAClean503AndThenHealsWithoutRestartingReplicas() async throws {
        try await withReplicas(2) { replicas, servers, client in
            let stop = NIOLockedValueBox(false)
            let load = Task {
                var seen: [(Duration, CallResult)] = []
                let started = ContinuousClock.now
                var index = 0
                while !stop.withLockedValue({ $0 }) {
                    let result = await client.call(servers[index % servers.count].url)
                    seen.append((ContinuousClock.now - started, result))
                    index += 1
                    try? await Task.sleep(for: .milliseconds(20))
                }
                return seen
            }
            try await Task.sleep(for: .seconds(1))
            let down = try ProcessResult.run(LocalIdP.repository.appendingPathComponent("scripts/pg/down").path, ["--keep"])
            try #require(down.status == 0, "scripts/pg/down --keep: \(down.stderr)")
            try await Task.sleep(for: .seconds(3))
            let up = try ProcessResult.run(LocalIdP.repository.appendingPathComponent("scripts/pg/up").path, [])
            try #require(up.status == 0, "scripts/pg/up: \(up.stderr)")
            // Healed: a run of successes on both replicas within 30 s of the database's return.
            var healed = false
            for _ in 0..<60 where !healed {
                try await Task.sleep(for: .milliseconds(500))
                var answers: [Int] = []
                for server in servers { answers.append(await client.call(server.url).status) }
                healed = answers.allSatisfy { $0 == 200 }
            }
            stop.withLockedValue { $0 = true }
            let seen = await load.value
            let refused = seen.filter { $0.1.status == 503 }
            #expect(healed, "the replicas did not recover: \(seen.last?.1.body ?? "")")
            #expect(!refused.isEmpty, "no call was refused while the database was down")
            #expect(refused.allSatisfy { $0.1.body.contains("store_unavailable") })
            #expect(
                seen.allSatisfy { [200, 503].contains($0.1.status) },
                "\(Set(seen.map(\.1.status))): \(seen.first { ![200, 503].contains($0.1.status) }?.1.body ?? "")")
            print(
                "database restart: \(seen.count) calls, \(refused.count) answered 503 store_unavailable, recovered without restarting replicas"
            )
        }
    }

    /// A rate limit holds across replicas: with `rate_limit_per_hour = 6`, two replicas admit
    /// six calls between them (the two warm-up calls and four more), not six each.
    @Test func aRateLimitHoldsAcrossReplicas() async throws {
        try await withReplicas(2, profileExtra: "rate_limit_per_hour = 6") { _, servers, client in
            let hour = Calendar.current.component(.hour, from: Date())
            var statuses: [Int] = []
            for index in 0..<8 { statuses.append(await client.call(servers[index % 2].url).status) }
            // The shared windows are fixed hours: a test that straddles one proves nothing.
            guard Calendar.current.component(.hour, from: Date()) == hour else { return }
            #expect(statuses.filter { $0 == 200 }.count == 4, "\(statuses)")
            #expect(statuses.filter { $0 == 429 }.count == 4, "\(statuses)")
        }
    }

    @Test func theCLIOnAnotherHostSeesAndChangesTheSameTokens() async throws {
        try await withReplicas(2, serving: 0) { replicas, _, _ in
            let (first, second) = (replicas.hosts[0], replicas.hosts[1])
            let status = try second.run("status", "work")
            #expect(status.status == 0, "\(status.stderr)")
            #expect(status.stdout.contains("signed in") && status.stdout.contains("postgres"), "\(status.stdout)")
            let doctor = try second.run("doctor")
            #expect(doctor.stdout.contains("✓ database: schema version 2"), "\(doctor.stdout)")
            #expect(doctor.stdout.contains("✓ database: tokens sealed with this devicegate's key"), "\(doctor.stdout)")
            #expect(doctor.stdout.contains("signed in as"), "\(doctor.stdout)")
            let token = try second.run("token", "work")
            let stored = try await replicas.withStore { try await $0.load("work") }
            #expect(token.status == 0 && token.stdout == (stored?.tokens.accessToken.reveal() ?? "-") + "\n")
            // A refresh on one host is what the other host hands out next.
            let refreshed = try second.run("token", "work", "--min-ttl", "999999")
            #expect(refreshed.status == 0, "\(refreshed.stderr)")
            #expect(refreshed.stdout != token.stdout)
            #expect(try first.run("token", "work").stdout == refreshed.stdout)
            // A logout on one host signs every host out.
            let logout = try second.run("logout", "work")
            #expect(logout.status == 0, "\(logout.stderr)")
            let after = try first.run("status", "work")
            #expect(after.status == 3 && after.stdout.contains("not signed in"), "\(after.stdout)")
            // The database URL's password never reaches the output.
            let password = URLComponents(string: replicas.database.url.reveal())?.password ?? "-"
            for result in [status, doctor, token, refreshed, logout, after] {
                #expect(!result.stdout.contains(password) && !result.stderr.contains(password))
            }
        }
    }

    /// Relays one request to `url` and its answer back, as a slow network would, not a stub.
    static func forward(_ request: RecordedRequest, to url: String, with client: HTTPClient) async -> ScriptedResponse {
        var outgoing = HTTPClientRequest(url: url)
        outgoing.method = .POST
        for (name, value) in request.headers where !["host", "content-length", "connection"].contains(name.lowercased()) {
            outgoing.headers.add(name: name, value: value)
        }
        outgoing.body = .bytes(ByteBuffer(bytes: request.bytes))
        do {
            let response = try await client.execute(outgoing, timeout: .seconds(30))
            let body = try await response.body.collect(upTo: 1 << 20)
            let type = response.headers.first(name: "content-type") ?? "application/json"
            return ScriptedResponse(status: Int(response.status.code), headers: [("Content-Type", type)], body: Data(buffer: body))
        } catch {
            return .dropped
        }
    }
}
