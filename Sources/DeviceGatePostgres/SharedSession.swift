import Logging
import PostgresNIO

/// The one connection a replica's reads and writes share, opened on first use and opened
/// again after it breaks (a database restarted, a failover, a network cut).
///
/// PostgreSQL runs a connection's statements one after another, which is plenty here: the hot
/// path answers from memory, and the store is read only when a hold is checked (once a second
/// per profile) or after another replica changed something. A connection dropped on any
/// failure and made again on the next call recovers as soon as the server is back, and every
/// wait stays under the store's deadline.
actor SharedSession {
    let configuration: PostgresConnection.Configuration
    let logger: Logger
    private var connection: PostgresConnection?
    private var connecting: Task<PostgresConnection, any Error>?
    private var closed = false

    init(configuration: PostgresConnection.Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The open connection, or a new one (one attempt shared by every caller waiting for it).
    func get() async throws -> PostgresConnection {
        if closed { throw CancellationError() }
        if let connection, !connection.isClosed { return connection }
        if let connecting { return try await connecting.value }
        let (configuration, logger) = (configuration, logger)
        let attempt = Task {
            try await PostgresConnection.connect(configuration: configuration, id: Int.random(in: 1...Int.max), logger: logger)
        }
        connecting = attempt
        do {
            let opened = try await attempt.value
            connecting = nil
            if closed {
                try? await opened.close()
                throw CancellationError()
            }
            connection = opened
            return opened
        } catch {
            connecting = nil
            throw error
        }
    }

    /// Forgets `broken` (closing it) so the next call opens a fresh connection.
    func drop(_ broken: PostgresConnection) async {
        guard connection === broken else { return }
        connection = nil
        try? await broken.close()
    }

    /// Closes the connection for good.
    func close() async {
        closed = true
        connecting?.cancel()
        if let connection { try? await connection.close() }
        connection = nil
    }
}
