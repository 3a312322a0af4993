import Crypto
import DeviceGateKit
import Logging
import NIOConcurrencyHelpers
import PostgresNIO

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The `postgres` driver of ``ProfileStore``: several gateways, one set of tokens.
///
/// Rows hold only what ``TokenSeal`` produces (AES-256-GCM, the profile name as associated
/// data), so the database never sees a plaintext token and a row copied to another profile
/// fails authentication. A profile's refresh runs under `pg_advisory_xact_lock` in a
/// transaction on a connection of its own: the lock lives exactly as long as the session, so a
/// replica that dies mid-refresh releases it and no timer can hand it to a second refresher
/// while a slow one is still running. Writes go through other connections and commit at once,
/// so tokens a refresh obtained are kept even if the lock's session is lost before its commit.
///
/// Lifecycle is explicit: ``open(url:key:logger:)`` connects and prepares the schema,
/// ``shutdown()`` closes every connection; there is no global client. Reads and writes share
/// one connection (``SharedSession``), made again after it breaks; the refresh lock and the
/// change feed have sessions of their own.
public final class PostgresStore: ProfileStore {
    public let url: DatabaseURL
    let seal: TokenSeal
    let shared: SharedSession
    let logger: Logger
    /// Bounds every statement: a database that does not answer becomes a clear error, not a
    /// request that hangs.
    let deadline: Duration
    /// Opened by `doctor` to look only: a database devicegate never prepared has no tables
    /// yet, which means "nothing stored", not damage.
    let lookingOnly: Bool

    public init(url: DatabaseURL, key: StoreKey, logger: Logger, deadline: Duration = .seconds(5), lookingOnly: Bool = false) throws {
        self.lookingOnly = lookingOnly
        self.url = url
        self.seal = TokenSeal(key: key)
        self.logger = logger
        self.deadline = deadline
        self.shared = SharedSession(configuration: try url.connectionConfiguration(), logger: logger)
    }

    /// Connects, creates or migrates the schema and checks the key. The caller calls
    /// ``shutdown()`` when done (also after a failure here, which shuts down itself).
    public static func open(url: DatabaseURL, key: StoreKey, logger: Logger) async throws -> PostgresStore {
        let store = try PostgresStore(url: url, key: key, logger: logger)
        do {
            try await store.prepare()
        } catch {
            await store.shutdown()
            throw error
        }
        return store
    }

    /// A store that has not prepared the schema (for `doctor`, which only looks).
    public static func inspect(url: DatabaseURL, key: StoreKey, logger: Logger) throws -> PostgresStore {
        try PostgresStore(url: url, key: key, logger: logger, lookingOnly: true)
    }

    public func shutdown() async {
        await shared.close()
    }

    /// Creates or migrates the schema and checks that the stored tokens are sealed with this
    /// replica's key.
    public func prepare() async throws {
        let (seal, display, logger) = (seal, url.display, logger)
        // On a session of its own: the migration is one transaction.
        let connection = try await session("prepare the schema")
        do {
            try await PostgresSchema.migrate(
                connection, keyID: seal.keyID, keyLabel: seal.key.source.label, display: display, logger: logger)
        } catch {
            try? await connection.close()
            throw Self.translate(error, doing: "prepare the schema", display: display)
        }
        try? await connection.close()
    }

    public var posture: StorePosture {
        let display = url.display
        return StorePosture(
            backend: "postgres", keySource: seal.key.source.label, location: { "\(display), table devicegate_tokens, row \($0)" })
    }

    func location(_ profile: String) -> String { "\(url.display), devicegate_tokens row \(profile)" }

    // MARK: Tokens

    func read(_ profile: String) async throws -> (Data, Int64)? {
        try await guarded("read the tokens of \(profile)") { connection in
            let rows = try await connection.query(
                "SELECT sealed, revision FROM devicegate_tokens WHERE profile = \(profile)", logger: self.logger)
            var found: (Data, Int64)?
            for try await row in rows.decode((Data, Int64).self) { found = row }
            return found
        }
    }

    public func load(_ profile: String) async throws -> StoredProfile? {
        try Self.validate(profile)
        if lookingOnly {
            let logger = logger
            let state = try await guarded("read the schema") { try await PostgresSchema.state($0, logger: logger) }
            if state.version == 0 { return nil }
        }
        guard let (sealed, revision) = try await read(profile) else { return nil }
        var entry = try seal.open(sealed, profile: profile, location: location(profile))
        entry.revision = StoreRevision(String(revision))
        return entry
    }

    @discardableResult
    public func save(_ entry: StoredProfile, replacing expected: StoreRevision?) async throws -> StoreRevision {
        try Self.validate(entry.profile)
        let sealed = try seal.seal(entry)
        let profile = entry.profile
        let expectedNumber: Int64?
        if let expected {
            guard let number = Int64(expected.value) else { throw StoreConflict(profile: profile) }
            expectedNumber = number
        } else {
            expectedNumber = nil
        }
        let revision: Int64? = try await guarded("store the tokens of \(profile)") { connection in
            let rows: PostgresRowSequence
            if let expectedNumber {
                rows = try await connection.query(
                    """
                    UPDATE devicegate_tokens SET sealed = \(sealed), revision = revision + 1, updated_at = now()
                    WHERE profile = \(profile) AND revision = \(expectedNumber) RETURNING revision
                    """, logger: self.logger)
            } else {
                rows = try await connection.query(
                    """
                    INSERT INTO devicegate_tokens (profile, sealed, revision) VALUES (\(profile), \(sealed), 1)
                    ON CONFLICT (profile) DO UPDATE SET sealed = EXCLUDED.sealed, revision = devicegate_tokens.revision + 1,
                        updated_at = now()
                    RETURNING revision
                    """, logger: self.logger)
            }
            var revision: Int64?
            for try await value in rows.decode(Int64.self) { revision = value }
            return revision
        }
        guard let revision else { throw StoreConflict(profile: profile) }
        return StoreRevision(String(revision))
    }

    @discardableResult
    public func delete(_ profile: String) async throws -> Bool {
        try Self.validate(profile)
        return try await guarded("delete the tokens of \(profile)") { connection in
            let rows = try await connection.query(
                "DELETE FROM devicegate_tokens WHERE profile = \(profile) RETURNING profile", logger: self.logger)
            var deleted = false
            for try await _ in rows.decode(String.self) { deleted = true }
            return deleted
        }
    }

    /// Holds `pg_advisory_xact_lock` on a hash of the profile name in a transaction on a
    /// connection of its own for the length of `body`: the lock ends with that session (a
    /// replica killed mid-refresh releases it), never by a timer. Waiting gives up after a
    /// minute (`lock_timeout`), as the file lock does.
    public func exclusively<T: Sendable>(_ profile: String, _ body: () async throws -> T) async throws -> T {
        try Self.validate(profile)
        let key = Self.lockKey(profile)
        let (logger, display) = (logger, url.display)
        let connection = try await session("lock the profile \(profile) for its refresh")
        do {
            try await connection.query("BEGIN", logger: logger)
            try await connection.query("SET LOCAL lock_timeout = '60s'", logger: logger)
            try await connection.query("SELECT pg_advisory_xact_lock(\(key))", logger: logger)
        } catch {
            try? await connection.close()
            throw Self.translate(error, doing: "lock the profile \(profile) for its refresh", display: display)
        }
        let result: T
        do {
            result = try await body()
        } catch {
            try? await connection.close()
            throw error
        }
        // What `body` wrote is already committed on other connections; closing the session
        // only ends the lock.
        _ = try? await connection.query("COMMIT", logger: logger)
        try? await connection.close()
        return result
    }

    /// A connection of its own (not from the pool), opened within ``deadline``.
    func session(_ what: String) async throws -> PostgresConnection {
        let (configuration, logger) = (try url.connectionConfiguration(), logger)
        let id = Int.random(in: 1...Int.max)
        return try await bounded(what) {
            try await PostgresConnection.connect(configuration: configuration, id: id, logger: logger)
        }
    }

    /// The advisory lock key of a profile: the first 8 bytes of a SHA-256 of its name, in a
    /// namespace of devicegate's own.
    static func lockKey(_ profile: String) -> Int64 {
        let digest = SHA256.hash(data: Data("devicegate refresh lock\u{0}\(profile)".utf8))
        return digest.prefix(8).reduce(Int64(0)) { $0 << 8 | Int64($1) }
    }

    // MARK: Holds

    public func hold(_ kind: ProfileHoldKind, for profile: String) async throws -> ProfileLock? {
        try Self.validate(profile)
        let text: String? = try await guarded("read the holds of \(profile)") { connection in
            let rows = try await connection.query(
                "SELECT hold FROM devicegate_holds WHERE profile = \(profile) AND kind = \(kind.rawValue)", logger: self.logger)
            var found: String?
            for try await value in rows.decode(String.self) { found = value }
            return found
        }
        return text.map { ProfileLock.decoded(Data($0.utf8), profile: profile) }
    }

    public func place(_ kind: ProfileHoldKind, _ lock: ProfileLock) async throws {
        try Self.validate(lock.profile)
        let text = String(decoding: try lock.encoded(), as: UTF8.self)
        let profile = lock.profile
        _ = try await guarded("place a hold on \(profile)") { connection in
            try await connection.query(
                """
                INSERT INTO devicegate_holds (profile, kind, hold) VALUES (\(profile), \(kind.rawValue), \(text))
                ON CONFLICT (profile, kind) DO UPDATE SET hold = EXCLUDED.hold, placed_at = now()
                """, logger: self.logger)
        }
    }

    @discardableResult
    public func lift(_ kind: ProfileHoldKind, for profile: String) async throws -> Bool {
        try Self.validate(profile)
        return try await guarded("lift the hold on \(profile)") { connection in
            let rows = try await connection.query(
                "DELETE FROM devicegate_holds WHERE profile = \(profile) AND kind = \(kind.rawValue) RETURNING profile",
                logger: self.logger)
            var lifted = false
            for try await _ in rows.decode(String.self) { lifted = true }
            return lifted
        }
    }

    // MARK: Rate limits

    public var sharesRateLimits: Bool { true }

    /// One call against fixed one-minute and one-hour windows shared by every replica. Each
    /// window is a row incremented with `INSERT … ON CONFLICT DO UPDATE … WHERE calls < limit`,
    /// which PostgreSQL runs under the row's lock: two replicas can never both take the last
    /// slot. The minute is counted first; a call the hour then refuses still counts in its
    /// minute. One round trip per window, on rate-limited profiles only; the database's clock is
    /// the one every replica shares.
    public func admitCall(_ profile: String, perMinute: Int?, perHour: Int?) async throws -> SharedRateVerdict? {
        try Self.validate(profile)
        var newWindow = false
        for (kind, limit) in [("minute", perMinute), ("hour", perHour)] {
            guard let limit else { continue }
            let (calls, wait) = try await guarded("count a call against the rate limit of \(profile)") { connection in
                let rows = try await connection.query(
                    """
                    WITH counted AS (
                        INSERT INTO devicegate_rate (profile, window_kind, window_start, calls)
                        VALUES (\(profile), \(kind), date_trunc(\(kind), now()), 1)
                        ON CONFLICT (profile, window_kind, window_start)
                            DO UPDATE SET calls = devicegate_rate.calls + 1 WHERE devicegate_rate.calls < \(limit)
                        RETURNING calls)
                    SELECT coalesce((SELECT calls FROM counted), 0)::int8,
                        extract(epoch FROM date_trunc(\(kind), now()) + ('1 ' || \(kind))::interval - now())::float8
                    """, logger: self.logger)
                var result: (Int64, Double) = (0, 60)
                for try await row in rows.decode((Int64, Double).self) { result = row }
                return result
            }
            guard calls > 0 else { return .wait(seconds: max(1, wait)) }
            if calls == 1 { newWindow = true }
        }
        // Old windows go now and then: when a call opened a new one.
        if newWindow {
            _ = try? await guarded("forget old rate windows") { connection in
                try await connection.query(
                    "DELETE FROM devicegate_rate WHERE profile = \(profile) AND window_start < now() - interval '2 hours'",
                    logger: self.logger)
            }
        }
        return .admitted
    }

    // MARK: Changes

    /// LISTENs on `devicegate_changes` on a connection of its own. After every (re)connection
    /// it reports nil first: whatever was announced while it was away is lost, so the caller
    /// drops everything it cached and reads again.
    public func watch(_ changed: @escaping @Sendable (String?) async -> Void) async throws {
        var failures = 0
        while !Task.isCancelled {
            do {
                let connection = try await session("listen for changes")
                do {
                    try await connection.listen(on: "devicegate_changes") { notifications in
                        failures = 0
                        await changed(nil)
                        for try await notification in notifications { await changed(notification.payload) }
                    }
                } catch {
                    try? await connection.close()
                    throw error
                }
                try? await connection.close()
            } catch {
                if Task.isCancelled { return }
                failures += 1
                logger.warning(
                    "lost the change feed; listening again",
                    metadata: ["database": "\(url.display)", "error": "\(Self.translate(error, doing: "listen", display: url.display))"])
            }
            try? await Task.sleep(for: .milliseconds(min(5000, 100 * (1 << min(failures, 6)))))
        }
    }

    // MARK: Doctor

    /// One line each for `devicegate doctor`: the connection, the schema version, the key.
    public func checks() async -> [Doctor.Check] {
        await rawChecks().map { Doctor.Check(level: $0.ok ? .ok : .failure, subject: $0.subject, detail: $0.detail) }
    }

    func rawChecks() async -> [(ok: Bool, subject: String, detail: String)] {
        let display = url.display
        let logger = logger
        do {
            let (server, state) = try await guarded("connect") { connection in
                let rows = try await connection.query("SHOW server_version", logger: logger)
                var version = "?"
                for try await value in rows.decode(String.self) { version = value }
                return (version, try await PostgresSchema.state(connection, logger: logger))
            }
            var checks = [(true, "database", "\(display): PostgreSQL \(server)")]
            if state.version == PostgresSchema.latest {
                checks.append((true, "database", "schema version \(state.version)"))
            } else if state.version < PostgresSchema.latest {
                checks.append(
                    (
                        state.version == 0, "database",
                        "schema version \(state.version); devicegate migrates it to \(PostgresSchema.latest) when it next opens the store"
                    ))
            } else {
                checks.append(
                    (false, "database", "schema version \(state.version) is newer than this devicegate (\(PostgresSchema.latest))"))
            }
            switch state.keyID {
            case nil: checks.append((true, "database", "no tokens sealed yet; the first devicegate to open it records its key"))
            case seal.keyID: checks.append((true, "database", "tokens sealed with this devicegate's key (\(seal.key.source.label))"))
            case let other?:
                checks.append(
                    (
                        false, "database",
                        "tokens sealed with key \(other), but this devicegate uses key \(seal.keyID) (\(seal.key.source.label)); give every replica the same DEVICEGATE_KEY_FILE"
                    ))
            }
            return checks
        } catch {
            return [(false, "database", String(describing: error))]
        }
    }

    // MARK: Errors

    static func validate(_ profile: String) throws { try ProfileName.validate(profile) }

    /// Runs one step on the shared connection within ``deadline``, translating what PostgreSQL
    /// and the network say into errors that name the database (never its password) and the fix.
    /// A connection that failed other than by the server's answer is dropped, so the next step
    /// connects afresh.
    func guarded<T: Sendable>(_ what: String, _ step: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        let shared = shared
        return try await bounded(what) {
            let connection = try await shared.get()
            do {
                return try await step(connection)
            } catch {
                if (error as? PSQLError)?.code != .server { await shared.drop(connection) }
                throw error
            }
        }
    }

    /// Runs `operation` within ``deadline``: a server that does not answer (a connect that
    /// hangs, a half-open socket) becomes ``StoreUnavailable`` at the deadline, and the
    /// operation is cancelled without being waited for.
    func bounded<T: Sendable>(_ what: String, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let (deadline, display) = (deadline, url.display)
        let outcome = NIOLockedValueBox<CheckedContinuation<T, any Error>?>(nil)
        let work = NIOLockedValueBox<[Task<Void, Never>]>([])
        @Sendable func finish(_ result: Result<T, any Error>) {
            guard
                let continuation = outcome.withLockedValue({ box in
                    defer { box = nil }; return box
                })
            else { return }
            continuation.resume(with: result)
            for task in work.withLockedValue({ $0 }) { task.cancel() }
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                outcome.withLockedValue { $0 = continuation }
                let running = Task {
                    do { finish(.success(try await operation())) } catch {
                        finish(.failure(Self.translate(error, doing: what, display: display)))
                    }
                }
                let timer = Task {
                    try? await Task.sleep(for: deadline)
                    finish(
                        .failure(StoreUnavailable("\(display) did not answer within \(deadline.components.seconds) s (trying to \(what))")))
                }
                work.withLockedValue { $0 = [running, timer] }
            }
        } onCancel: {
            finish(.failure(CancellationError()))
        }
    }

    static func translate(_ error: any Error, doing what: String, display: String) -> any Error {
        switch error {
        case is CancellationError, is ConfigError, is StoreError, is StoreConflict, is StoreUnavailable: return error
        case let error as PSQLError:
            if error.code == .server, let info = error.serverInfo {
                let state = info[.sqlState] ?? "?"
                let message = info[.message] ?? "no message"
                switch state {
                case "28P01", "28000", "3D000", "42501":
                    // Wrong password, no such role or database, no permission: configuration.
                    return ConfigError(file: nil, "\(display) refused to \(what): \(message) (SQLSTATE \(state))")
                case "42P01", "42703", "42804":
                    return ConfigError(
                        file: nil,
                        "\(display) does not have the tables devicegate expects (\(message)); run `devicegate doctor`, and do not change devicegate_* tables by hand"
                    )
                case "55P03":
                    return StoreError.lockTimeout(path: "\(display) (advisory lock)", seconds: 60)
                default:
                    return StoreUnavailable("\(display) could not \(what): \(message) (SQLSTATE \(state))")
                }
            }
            if error.code == .tooManyParameters || error.code == .invalidCommandTag {
                return ConfigError(file: nil, "\(display) gave an answer devicegate does not expect while trying to \(what)")
            }
            return StoreUnavailable("could not \(what) at \(display): \(error.code)")
        case is PostgresDecodingError:
            return ConfigError(
                file: nil,
                "\(display) answered with columns of another type than devicegate expects while trying to \(what); the devicegate_* tables were changed by hand"
            )
        default:
            return StoreUnavailable("could not \(what) at \(display): \(type(of: error))")
        }
    }
}
