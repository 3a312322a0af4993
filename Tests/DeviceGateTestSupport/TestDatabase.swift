import DeviceGateKit
import Foundation
import Logging
import PostgresNIO

/// A database of its own for one test, in the throwaway PostgreSQL that `scripts/pg/up` runs
/// (`scripts/test` starts it). Created empty, dropped by ``drop()``.
public struct TestDatabase: Sendable {
    /// The test database's URL. Holds the throwaway cluster's password: pass it to a child
    /// process through its environment, never on a command line.
    public let url: Secret
    public let name: String
    let admin: Secret

    /// The cluster's URL: `DEVICEGATE_TEST_DATABASE_URL`, else the file `scripts/pg/up` writes.
    public static func clusterURL() throws -> Secret {
        let environment = ProcessInfo.processInfo.environment
        if let url = environment["DEVICEGATE_TEST_DATABASE_URL"], !url.isEmpty { return Secret(url) }
        let directory = environment["DEVICEGATE_PG_DIR"] ?? (environment["TMPDIR"] ?? "/tmp") + "/devicegate-pg"
        guard let text = try? String(contentsOfFile: directory + "/url", encoding: .utf8) else {
            throw DatabaseUnavailable(
                "no test PostgreSQL: \(directory)/url is missing and DEVICEGATE_TEST_DATABASE_URL is not set. Run scripts/test (or scripts/pg/up first)."
            )
        }
        return Secret(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    public struct DatabaseUnavailable: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// Creates `dg_<random>` in the cluster.
    public static func create() async throws -> TestDatabase {
        let admin = try clusterURL()
        let name = "dg_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        try await execute(on: admin, "CREATE DATABASE \(name)")
        guard var components = URLComponents(string: admin.reveal()) else { throw DatabaseUnavailable("the cluster URL is not a URL") }
        components.path = "/" + name
        return TestDatabase(url: Secret(components.string ?? ""), name: String(name), admin: admin)
    }

    public func drop() async {
        try? await Self.execute(on: admin, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// Runs SQL on this test database (to damage rows, as an attacker or a person would).
    public func execute(_ sql: String) async throws {
        try await Self.execute(on: url, sql)
    }

    /// The first column of the first row of `sql`, as text.
    public func value(_ sql: String) async throws -> String? {
        try await Self.connected(to: url) { connection in
            let rows = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: Self.logger)
            for try await value in rows.decode(String?.self) { return value }
            return nil
        }
    }

    static let logger = Logger(label: "devicegate.test-database")

    static func execute(on url: Secret, _ sql: String) async throws {
        try await connected(to: url) { connection in
            _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger)
        }
    }

    static func connected<T: Sendable>(to url: Secret, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        guard let components = URLComponents(string: url.reveal()), let host = components.host, let user = components.user else {
            throw DatabaseUnavailable("the test database URL is not a postgres:// URL")
        }
        let configuration = PostgresConnection.Configuration(
            host: host, port: components.port ?? 5432, username: user, password: components.password,
            database: String(components.path.dropFirst()), tls: .disable)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        do {
            let result = try await body(connection)
            try await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }
}
