import DeviceGateKit
import Logging
import PostgresNIO

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The tables devicegate keeps in PostgreSQL, created and migrated by devicegate itself.
///
/// `devicegate_schema` holds one row: the schema version and the id of the key the tokens are
/// sealed with, so a replica with a newer schema than it knows, or with another key, stops with
/// an explanation instead of writing rows nobody else can read. Migrations run in one
/// transaction under an advisory lock, so replicas starting together migrate once.
enum PostgresSchema {
    /// One list of statements per version; version N is `migrations[N - 1]`.
    static let migrations: [[String]] = [
        [
            """
            CREATE TABLE devicegate_tokens (
                profile text PRIMARY KEY,
                sealed bytea NOT NULL,
                revision bigint NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now())
            """,
            """
            CREATE TABLE devicegate_holds (
                profile text NOT NULL,
                kind text NOT NULL,
                hold text NOT NULL,
                placed_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (profile, kind))
            """,
            // Every change to a token row or a hold is announced at commit, so replicas drop
            // their cached copies without polling.
            """
            CREATE FUNCTION devicegate_announce() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_notify('devicegate_changes', COALESCE(NEW.profile, OLD.profile));
                RETURN NULL;
            END $$
            """,
            """
            CREATE TRIGGER devicegate_tokens_announce AFTER INSERT OR UPDATE OR DELETE ON devicegate_tokens
                FOR EACH ROW EXECUTE FUNCTION devicegate_announce()
            """,
            """
            CREATE TRIGGER devicegate_holds_announce AFTER INSERT OR UPDATE OR DELETE ON devicegate_holds
                FOR EACH ROW EXECUTE FUNCTION devicegate_announce()
            """,
        ],
        // Version 2: calls counted per profile in fixed one-minute and one-hour windows, shared
        // by every replica, so a rate limit holds across them.
        [
            """
            CREATE TABLE devicegate_rate (
                profile text NOT NULL,
                window_kind text NOT NULL,
                window_start timestamptz NOT NULL,
                calls integer NOT NULL,
                PRIMARY KEY (profile, window_kind, window_start))
            """
        ],
    ]

    static var latest: Int { migrations.count }
    /// The advisory lock key migrations run under (ASCII "dgschema").
    static let lockKey: Int64 = 0x6467_7363_6865_6D61

    struct State: Sendable {
        var version: Int
        var keyID: String?
    }

    /// Reads the schema row without changing anything (for `doctor`); version 0 when devicegate
    /// never ran here.
    static func state(_ connection: PostgresConnection, logger: Logger) async throws -> State {
        let exists = try await connection.query("SELECT to_regclass('devicegate_schema') IS NOT NULL", logger: logger)
        var present = false
        for try await value in exists.decode(Bool.self) { present = value }
        guard present else { return State(version: 0, keyID: nil) }
        let rows = try await connection.query("SELECT version, key_id FROM devicegate_schema", logger: logger)
        var state = State(version: 0, keyID: nil)
        var count = 0
        for try await (version, keyID) in rows.decode((Int32, String).self) {
            state = State(version: Int(version), keyID: keyID)
            count += 1
        }
        guard count <= 1 else {
            throw ConfigError(file: nil, "devicegate_schema holds \(count) rows where devicegate keeps one; it was changed by hand")
        }
        return state
    }

    /// Creates or migrates the schema to ``latest`` and records `keyID` on first use; refuses a
    /// newer schema or another key.
    static func migrate(_ connection: PostgresConnection, keyID: String, keyLabel: String, display: String, logger: Logger) async throws {
        try await connection.query("BEGIN", logger: logger)
        do {
            try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS devicegate_schema (
                    single boolean PRIMARY KEY DEFAULT true CHECK (single),
                    version integer NOT NULL,
                    key_id text NOT NULL)
                """, logger: logger)
            let state = try await Self.state(connection, logger: logger)
            try check(state, keyID: keyID, keyLabel: keyLabel, display: display)
            if state.version < latest {
                for version in (state.version + 1)...latest {
                    for statement in migrations[version - 1] {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                }
                let version = Int32(latest)
                try await connection.query(
                    """
                    INSERT INTO devicegate_schema (single, version, key_id) VALUES (true, \(version), \(keyID))
                    ON CONFLICT (single) DO UPDATE SET version = EXCLUDED.version
                    """, logger: logger)
            }
            try await connection.query("COMMIT", logger: logger)
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }

    /// Refuses a schema newer than this devicegate, and a key other than the one the stored
    /// tokens were sealed with.
    static func check(_ state: State, keyID: String, keyLabel: String, display: String) throws {
        if state.version > latest {
            throw ConfigError(
                file: nil,
                "the database \(display) has devicegate schema version \(state.version), newer than this devicegate knows (\(latest)); upgrade devicegate on this machine"
            )
        }
        if let stored = state.keyID, stored != keyID {
            throw ConfigError(
                file: nil,
                "the tokens in \(display) are sealed with store key \(stored), but this devicegate uses \(keyLabel) (key \(keyID)); give every replica the same key file (DEVICEGATE_KEY_FILE)"
            )
        }
    }
}
