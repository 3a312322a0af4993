import DeviceGateKit
import DeviceGatePostgres
import DeviceGateTestSupport
import Foundation
import Logging
import NIOConcurrencyHelpers
import Testing

/// The PostgreSQL driver against a real PostgreSQL (`scripts/pg/up`), one fresh database per
/// test. Two `PostgresStore`s on one database stand for two replicas: separate pools, separate
/// sessions.
@Suite(.serialized) struct PostgresStoreTests {
    static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        return logger
    }()

    static func entry(_ profile: String = "work", access: String = "access-token-AAAA") -> StoredProfile {
        StoredProfile(
            profile: profile, issuer: "https://idp.test", clientID: "cli",
            tokens: TokenSet(
                accessToken: Secret(access), refreshToken: Secret("refresh-token-BBBB"), idToken: Secret("id-token-CCCC"),
                scopes: ["openid"], expiresAt: Date(timeIntervalSince1970: 1_900_000_000),
                obtainedAt: Date(timeIntervalSince1970: 1_800_000_000)
            ),
            identity: Identity(subject: "s", name: "Alice", source: "id_token"), updatedAt: Date(timeIntervalSince1970: 1_800_000_000))
    }

    /// A store key in a file, as DEVICEGATE_KEY_FILE names one.
    static func key(_ dir: TemporaryDirectory, _ name: String = "key") throws -> StoreKey {
        let material = (0..<32).map { _ in UInt8.random(in: 0...255) }
        let path = dir.write(name, Data(material).base64EncodedString() + "\n")
        return try StoreKey.load(keyFile: path, defaultPath: dir.file("unused"), existingProfiles: { [] })
    }

    /// Runs `body` with a fresh database and a store key, dropping the database afterwards.
    static func withDatabase(_ body: (TestDatabase, StoreKey, TemporaryDirectory) async throws -> Void) async throws {
        let database = try await TestDatabase.create()
        let dir = TemporaryDirectory()
        do {
            try await body(database, try key(dir), dir)
        } catch {
            dir.remove()
            await database.drop()
            throw error
        }
        dir.remove()
        await database.drop()
    }

    static func open(_ database: TestDatabase, _ key: StoreKey) async throws -> PostgresStore {
        try await PostgresStore.open(url: try DatabaseURL(database.url), key: key, logger: logger)
    }

    /// A rate limit holds across replicas: two stores on one database share the minute's
    /// calls, and the one that finds it full says how long until it frees.
    @Test func twoReplicasShareOneRateLimit() async throws {
        try await Self.withDatabase { database, key, _ in
            let first = try await Self.open(database, key)
            let second = try await Self.open(database, key)
            var verdicts: [SharedRateVerdict?] = []
            for index in 0..<6 {
                let store = index.isMultiple(of: 2) ? first : second
                verdicts.append(try await store.admitCall("work", perMinute: 4, perHour: 100))
            }
            #expect(verdicts.prefix(4).allSatisfy { $0 == .admitted }, "\(verdicts)")
            for verdict in verdicts.suffix(2) {
                guard case .wait(let seconds) = verdict else {
                    Issue.record("the fifth and sixth calls must wait: \(verdicts)")
                    continue
                }
                #expect(seconds >= 1 && seconds <= 60)
            }
            // The hour counts too, and another profile has windows of its own.
            #expect(try await first.admitCall("other", perMinute: nil, perHour: 1) == .admitted)
            #expect(try await second.admitCall("other", perMinute: nil, perHour: 1) != .admitted)
            #expect(try await second.admitCall("work2", perMinute: 1, perHour: nil) == .admitted)
            await first.shutdown()
            await second.shutdown()
        }
    }

    @Test func savesSealedRowsAndComparesRevisions() async throws {
        try await Self.withDatabase { database, key, _ in
            let store = try await Self.open(database, key)
            let first = try await store.save(Self.entry(), replacing: nil)
            let loaded = try #require(try await store.load("work"))
            #expect(loaded.tokens.accessToken.reveal() == "access-token-AAAA")
            #expect(loaded.revision == first)
            // The database holds ciphertext only.
            let raw = try #require(try await database.value("SELECT encode(sealed, 'escape') FROM devicegate_tokens"))
            for secret in ["access-token-AAAA", "refresh-token-BBBB", "id-token-CCCC", "Alice"] {
                #expect(!raw.contains(secret), "plaintext \(secret) in the row")
            }
            // A write based on what was read wins once; a second one based on the same read loses.
            var updated = loaded
            updated.tokens.accessToken = Secret("access-token-NEW")
            try await store.save(updated, replacing: loaded.revision)
            await #expect(throws: StoreConflict.self) { try await store.save(updated, replacing: loaded.revision) }
            #expect(try await store.load("work")?.tokens.accessToken.reveal() == "access-token-NEW")
            #expect(try await store.delete("work"))
            #expect(try await store.load("work") == nil)
            #expect(try await !store.delete("work"))
            await store.shutdown()
        }
    }

    @Test func aRowCopiedToAnotherProfileIsRefused() async throws {
        try await Self.withDatabase { database, key, _ in
            let store = try await Self.open(database, key)
            try await store.save(Self.entry("work"), replacing: nil)
            try await database.execute(
                "INSERT INTO devicegate_tokens (profile, sealed, revision) SELECT 'other', sealed, 1 FROM devicegate_tokens WHERE profile = 'work'"
            )
            await #expect {
                _ = try await store.load("other")
            } throws: { error in
                guard case StoreError.corrupted(_, let reason, let profile) = error else { return false }
                return profile == "other" && reason.contains("copied from another profile")
            }
            await store.shutdown()
        }
    }

    @Test func aReplicaWithAnotherKeyIsRefusedBeforeItWrites() async throws {
        try await Self.withDatabase { database, key, dir in
            let store = try await Self.open(database, key)
            try await store.save(Self.entry(), replacing: nil)
            await store.shutdown()
            let other = try Self.key(dir, "other-key")
            await #expect {
                _ = try await Self.open(database, other)
            } throws: { error in
                guard let error = error as? ConfigError else { return false }
                return error.message.contains("DEVICEGATE_KEY_FILE") && error.message.contains("sealed with store key")
            }
        }
    }

    @Test func aNewerSchemaIsRefused() async throws {
        try await Self.withDatabase { database, key, _ in
            await (try await Self.open(database, key)).shutdown()
            try await database.execute("UPDATE devicegate_schema SET version = 99")
            await #expect {
                _ = try await Self.open(database, key)
            } throws: { error in
                (error as? ConfigError)?.message.contains("schema version 99, newer than this devicegate knows") == true
            }
        }
    }

    @Test func aColumnOfAnotherTypeIsAClearError() async throws {
        try await Self.withDatabase { database, key, _ in
            let store = try await Self.open(database, key)
            try await store.save(Self.entry(), replacing: nil)
            try await database.execute("ALTER TABLE devicegate_tokens ALTER COLUMN revision TYPE text")
            await #expect {
                _ = try await store.load("work")
            } throws: { error in
                (error as? ConfigError)?.message.contains("changed by hand") == true
            }
            await store.shutdown()
        }
    }

    @Test(arguments: [
        ("mysql://u:pw@h/db", "scheme"),
        ("postgres://h/db", "no user"),
        ("postgres://u:pw@h", "no database"),
        ("postgres://u:pw@h/db?sslmode=verify-ca", "verify-ca is refused"),
        ("postgres://u:pw@h/db?sslmode=requir", "sslmode must be one of"),
        ("postgres://u:pw@h/db?ssl=true", "unknown parameter `ssl`"),
        // Found by the database-url fuzz target: a second URL pasted where a parameter goes.
        ("postgres://u:pw@h/db?ssostgres://u:pw@h:543a.pem", "not a parameter name, not shown"),
        ("postgres://u:pw@h/dbu:pw@h.pem", "the database name may hold only"),
        ("postgres://u:pw@h/db?sslmode=verify-full&sslrootcert=/x://u:pw@h/db", "sslrootcert must be an absolute file path"),
        ("not a url at all", "expected postgres://"),
    ])
    func badURLsAreRefusedWithoutTheirPassword(url: String, complaint: String) throws {
        #expect {
            _ = try DatabaseURL(Secret(url))
        } throws: { error in
            let text = String(describing: error)
            return error is ConfigError && text.contains(complaint) && !text.contains("pw")
        }
    }

    @Test func theURLIsShownWithoutItsPassword() throws {
        let url = try DatabaseURL(Secret("postgresql://dg:s3cr3t-pw@db.internal:6543/tokens?sslmode=verify-full"))
        #expect(url.display == "postgres://dg@db.internal:6543/tokens?sslmode=verify-full")
        #expect(url.tlsMode == .verifyFull)
        #expect(!String(describing: url).contains("s3cr3t"))
    }

    @Test func anUnreachableDatabaseIsUnavailableNotHanging() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        // A port nothing listens on (the cluster's, plus one, is free in practice; refused at once).
        let url = try DatabaseURL(Secret("postgres://dg:hunter2-pw@127.0.0.1:1/none?sslmode=disable"))
        let store = try PostgresStore(url: url, key: try Self.key(dir), logger: Self.logger, deadline: .seconds(3))
        let started = ContinuousClock.now
        await #expect {
            _ = try await PostgresStore.open(url: url, key: try Self.key(dir), logger: Self.logger)
        } throws: { error in
            let text = String(describing: error)
            return error is StoreUnavailable && text.contains("127.0.0.1:1") && !text.contains("hunter2")
        }
        #expect(ContinuousClock.now - started < .seconds(15))
        await store.shutdown()
    }

    /// A database restarted under a running store (a failover, an upgrade): the store answers
    /// ``StoreUnavailable`` while it is gone and works again after, without being reopened.
    @Test func aRestartedDatabaseIsUsedAgainWithoutReopening() async throws {
        try await Self.withDatabase { database, key, _ in
            let store = try await Self.open(database, key)
            try await store.save(Self.entry(), replacing: nil)
            let scripts = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().appendingPathComponent("scripts/pg")
            try Self.script(scripts.appendingPathComponent("down").path, "--keep")
            await #expect(throws: StoreUnavailable.self) { _ = try await store.load("work") }
            try Self.script(scripts.appendingPathComponent("up").path)
            var loaded: StoredProfile?
            var problem = ""
            for _ in 0..<40 where loaded == nil {
                do { loaded = try await store.load("work") } catch {
                    problem = "\(error)"
                    try await Task.sleep(for: .milliseconds(250))
                }
            }
            #expect(loaded?.tokens.accessToken.reveal() == "access-token-AAAA", "the store did not reconnect: \(problem)")
            await store.shutdown()
        }
    }

    static func script(_ path: String, _ arguments: String...) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(path) \(arguments)")
    }

    /// The refresh lock: held by one replica at a time, and released when the holder's
    /// session dies (a replica killed mid-refresh), never by a timer.
    @Test func exclusivelyExcludesOtherReplicasAndEndsWithTheSession() async throws {
        try await Self.withDatabase { database, key, _ in
            let a = try await Self.open(database, key)
            let b = try await Self.open(database, key)
            let inside = NIOLockedValueBox(0)
            let overlap = NIOLockedValueBox(false)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for store in [a, b, a, b] {
                    group.addTask {
                        try await store.exclusively("work") {
                            if inside.withLockedValue({
                                $0 += 1; return $0
                            }) > 1 {
                                overlap.withLockedValue { $0 = true }
                            }
                            try await Task.sleep(for: .milliseconds(150))
                            inside.withLockedValue { $0 -= 1 }
                        }
                    }
                }
                try await group.waitForAll()
            }
            #expect(!overlap.withLockedValue { $0 }, "two replicas held the refresh lock at once")

            // A holds the lock; its session is killed; B gets the lock without waiting for A's body.
            let holding = AsyncStream<Void>.makeStream()
            let holder = Task {
                try await a.exclusively("work") {
                    holding.continuation.yield()
                    try await Task.sleep(for: .seconds(30))
                }
            }
            for await _ in holding.stream { break }
            let started = ContinuousClock.now
            try await database.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()")
            let acquired = try await b.exclusively("work") { ContinuousClock.now - started }
            #expect(acquired < .seconds(10))
            holder.cancel()
            _ = await holder.result
            await a.shutdown()
            await b.shutdown()
        }
    }

    @Test func holdsAndChangesAreSharedBetweenReplicas() async throws {
        try await Self.withDatabase { database, key, _ in
            let a = try await Self.open(database, key)
            let b = try await Self.open(database, key)
            let seen = AsyncStream<String?>.makeStream()
            let watcher = Task { try await b.watch { seen.continuation.yield($0) } }
            var iterator = seen.stream.makeAsyncIterator()
            #expect(await iterator.next() == .some(nil), "a (re)connected feed first says: anything may have changed")

            try await a.place(.frozen, ProfileLock(profile: "work", reason: "frozen from the chat", lockedAt: Date()))
            #expect(await iterator.next() == "work")
            #expect(try await b.hold(.frozen, for: "work")?.reason == "frozen from the chat")
            #expect(try await b.hold(.locked, for: "work") == nil)
            try await a.save(Self.entry(), replacing: nil)
            #expect(await iterator.next() == "work")
            #expect(try await b.lift(.frozen, for: "work"))
            #expect(try await a.hold(.frozen, for: "work") == nil)
            watcher.cancel()
            _ = await watcher.result
            await a.shutdown()
            await b.shutdown()
        }
    }
}
