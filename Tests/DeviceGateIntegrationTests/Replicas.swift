import AsyncHTTPClient
import DeviceGateKit
import DeviceGatePostgres
import DeviceGateTestSupport
import Foundation
import Logging
import NIOCore
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Several devicegate "hosts" (each its own data directory) sharing one PostgreSQL database
/// and one store key, as a team's replicas do.
struct Replicas {
    let idp: LocalIdP
    let database: TestDatabase
    let shared: TemporaryDirectory
    let hosts: [Sandbox]
    let keyFile: String

    /// - Parameters:
    ///   - tokenEndpoint: sends the profile's refreshes elsewhere (a delaying proxy).
    ///   - profileExtra: more lines for the profile (a rate limit).
    static func make(_ count: Int, idp: LocalIdP, tokenEndpoint: String? = nil, profileExtra: String = "") async throws -> Replicas {
        let database = try await TestDatabase.create()
        let shared = TemporaryDirectory("devicegate-replicas")
        let material = (0..<32).map { _ in UInt8.random(in: 0...255) }
        let keyFile = shared.write("store.key", Data(material).base64EncodedString() + "\n")
        let config = """
            [store]
            backend = "postgres"
            url_env = "DEVICEGATE_DATABASE_URL"

            [gateway]
            max_connections = 4096

            [profiles.work]
            provider = "oidc"
            issuer = "\(idp.issuer)"
            client_id = "\(idp.publicClient)"
            scopes = ["openid", "profile", "email", "mail.read"]
            upstream = "\(idp.issuer)"
            allow = ["GET /userinfo"]
            \(tokenEndpoint.map { "token_endpoint = \"\($0)\"" } ?? "")
            \(profileExtra)
            """
        let hosts = (0..<count).map { _ in
            var host = Sandbox(idp: idp, config: config)
            host.extraEnvironment = ["DEVICEGATE_DATABASE_URL": database.url.reveal(), "DEVICEGATE_KEY_FILE": keyFile]
            return host
        }
        return Replicas(idp: idp, database: database, shared: shared, hosts: hosts, keyFile: keyFile)
    }

    func remove() async {
        for host in hosts { host.remove() }
        shared.remove()
        await database.drop()
    }

    /// The test's own view of the shared store, to age the stored token as time would.
    func withStore<T: Sendable>(_ body: (PostgresStore) async throws -> T) async throws -> T {
        let key = try StoreKey.load(keyFile: keyFile, defaultPath: shared.file("unused"), existingProfiles: { [] })
        let store = try await PostgresStore.open(url: try DatabaseURL(database.url), key: key, logger: Logger(label: "test"))
        do {
            let result = try await body(store)
            await store.shutdown()
            return result
        } catch {
            await store.shutdown()
            throw error
        }
    }

    /// Makes the stored access token stale; every replica hears of it through LISTEN/NOTIFY.
    func expireStoredToken() async throws -> StoredProfile {
        try await withStore { store in
            var entry = try #require(try await store.load("work"))
            entry.tokens.expiresAt = Date().addingTimeInterval(-60)
            try await store.save(entry, replacing: entry.revision)
            return entry
        }
    }

    /// Refreshes recorded in every replica's audit log (one chain per replica).
    func refreshes() throws -> Int {
        try hosts.reduce(0) { total, host in
            let path = host.dir.file("data/audit.jsonl")
            guard FileManager.default.fileExists(atPath: path) else { return total }
            return total + (try AuditLog.read(path: path).filter { $0["event"] as? String == "refresh" }.count)
        }
    }
}

/// A `devicegate serve` process, stopped with SIGTERM (or killed) by the test.
final class ServeProcess: @unchecked Sendable {
    let process = Process()
    let port: Int
    let adminPort: Int
    let log: String

    init(_ host: Sandbox) throws {
        port = try freePort()
        adminPort = try freePort()
        log = host.dir.file("serve.log")
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.executableURL = URL(fileURLWithPath: Sandbox.binary)
        process.arguments = ["serve", "--listen", "127.0.0.1:\(port)", "--admin-listen", "127.0.0.1:\(adminPort)"]
        process.environment = host.environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: log)
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var url: String { "http://127.0.0.1:\(port)/work/userinfo" }

    /// Waits until /healthz answers.
    func ready(_ client: HTTPClient) async throws {
        for _ in 0..<300 {
            if !process.isRunning { throw Failure("serve exited: \(output)") }
            if let response = try? await client.execute(
                HTTPClientRequest(url: "http://127.0.0.1:\(adminPort)/healthz"), timeout: .seconds(2)),
                response.status == .ok
            {
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw Failure("serve did not become ready: \(output)")
    }

    var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    func kill() {
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func stop() {
        guard process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }
}

/// An answer as the agent saw it.
struct CallResult: Sendable {
    let status: Int
    let body: String
}

extension HTTPClient {
    /// One agent call; a transport failure is status 0 with the error as body.
    func call(_ url: String) async -> CallResult {
        do {
            let response = try await execute(HTTPClientRequest(url: url), timeout: .seconds(60))
            let body = try await response.body.collect(upTo: 1 << 20)
            return CallResult(status: Int(response.status.code), body: String(buffer: body))
        } catch {
            return CallResult(status: 0, body: "\(error)")
        }
    }

    /// A client that opens many connections at once, as many agents would.
    static func agents() -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 400
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }
}

/// A port nothing listens on right now, on 127.0.0.1.
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw Failure("socket failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard bound == 0 else { throw Failure("bind failed") }
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0 else { throw Failure("getsockname failed") }
    return Int(UInt16(bigEndian: address.sin_port))
}
