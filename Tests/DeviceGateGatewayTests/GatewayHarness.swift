import AsyncHTTPClient
import Crypto
import DeviceGateGateway
import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Prometheus
import ServiceLifecycle
import Testing

/// A gateway on loopback in front of a real echo upstream, with tokens from a fake provider.
final class GatewayHarness: Sendable {
    let idp: FakeIdentityProvider
    let upstream: LoopbackServer
    let dir: TemporaryDirectory
    let store: TokenStore
    let port: Int
    let auditPath: String
    private let task: Task<Void, any Error>
    private let group: ServiceGroup

    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(60)))
        configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// The upstream answers with what it received, unless `answer` says otherwise.
    static func start(
        allow: [String] = ["GET /v1.0/me", "GET /v1.0/me/messages/**", "POST /upload"],
        config tweak: @Sendable (inout GatewayConfig) -> Void = { _ in },
        settings tweakSettings: @Sendable (inout GatewaySettings) -> Void = { _ in },
        signedIn: Bool = true, remaining: Double = 3000, upstreamBasePath: String = "", time: (any TimeSource)? = nil,
        witnessInterval: Double? = nil,
        approver: @Sendable (TokenStore) throws -> (any Approver, HeldRequests)? = { _ in nil },
        sharedLocks: Bool = false,
        answer: @escaping @Sendable (RecordedRequest) async -> ScriptedResponse? = { _ in nil }
    ) async throws -> GatewayHarness {
        let idp = try await FakeIdentityProvider.start()
        let upstream = try await LoopbackServer.start { request in
            if let scripted = await answer(request) { return scripted }
            return .json(
                200,
                [
                    "method": request.method, "path": request.path, "query": request.query ?? "",
                    "headers": Dictionary(
                        request.headers.map { ($0.name.lowercased(), $0.value) }, uniquingKeysWith: { a, b in a + "," + b }),
                    "body_bytes": request.bytes.count,
                    "body_sha256": SHA256.hash(data: request.bytes).map { String(format: "%02x", $0) }.joined(),
                ])
        }
        let dir = TemporaryDirectory("devicegate-gw")
        let store = try TokenStore(directory: dir.path, keyFile: nil)
        var profile = idp.profile()
        var settings = GatewaySettings(upstream: upstream.url(upstreamBasePath), rules: try allow.map(PolicyRule.init))
        tweakSettings(&settings)
        profile.gateway = settings
        if signedIn {
            idp.update {
                $0.issued = 1
                $0.liveRefreshToken = FakeIdentityProvider.refreshToken(1)
            }
            try store.save(
                StoredProfile(
                    profile: "work", issuer: profile.issuerIdentity, clientID: profile.clientID,
                    tokens: TokenSet(
                        accessToken: Secret(FakeIdentityProvider.accessToken(1)),
                        refreshToken: Secret(FakeIdentityProvider.refreshToken(1)),
                        expiresAt: Date().addingTimeInterval(remaining), obtainedAt: Date()),
                    identity: nil, updatedAt: Date()))
        }
        var config = GatewayConfig()
        config.listen = "127.0.0.1:0"
        config.adminListen = "127.0.0.1:0"
        tweak(&config)
        let alerts = RecordingAlerter()
        let auditPath = dir.file("audit.jsonl")
        let registry = PrometheusCollectorRegistry()
        let approval = try approver(store)
        let locks = sharedLocks ? LockCache(store: store, time: time ?? SystemTimeSource()) : nil
        let server = GatewayServer(
            config: config, profiles: [profile], store: store, signIns: DecliningSignIn(), alerter: alerts,
            time: time ?? SystemTimeSource(),
            auditPath: auditPath, registry: registry,
            witnessInterval: witnessInterval, approver: approval?.0, held: approval?.1, locks: locks)
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let services = try server.applications(logger: logger) { port in continuation.yield(port) }
        let group = ServiceGroup(services: services, logger: logger)
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        let port = try #require(await iterator.next())
        return GatewayHarness(
            idp: idp, upstream: upstream, dir: dir, store: store, port: port, auditPath: auditPath, alerts: alerts, registry: registry,
            group: group, task: task, locks: locks)
    }

    private init(
        idp: FakeIdentityProvider, upstream: LoopbackServer, dir: TemporaryDirectory, store: TokenStore, port: Int, auditPath: String,
        alerts: RecordingAlerter, registry: PrometheusCollectorRegistry, group: ServiceGroup, task: Task<Void, any Error>,
        locks: LockCache?
    ) {
        self.locks = locks
        self.group = group
        self.registry = registry
        self.idp = idp
        self.upstream = upstream
        self.dir = dir
        self.store = store
        self.port = port
        self.auditPath = auditPath
        self.task = task
        self.alerts = alerts
    }

    private let alerts: RecordingAlerter
    /// The gateway's lock and freeze cache, when the test shares it (`sharedLocks`).
    let locks: LockCache?
    let registry: PrometheusCollectorRegistry
    /// The Prometheus text `/metrics` serves.
    var metricsText: String {
        var buffer = [UInt8]()
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
    var alertMessages: [String] { alerts.messages }

    struct Answer: Sendable {
        let status: Int
        let headers: [(String, String)]
        let body: Data
        var json: [String: Any] { ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any]) ?? [:] }
        var echoedHeaders: [String: String] { json["headers"] as? [String: String] ?? [:] }
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    func call(_ method: String = "GET", _ path: String, headers: [(String, String)] = [], body: Data? = nil) async throws -> Answer {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = .init(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await Self.client.execute(request, timeout: .seconds(120))
        let collected = try await response.body.collect(upTo: 64 << 20)
        return Answer(
            status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: Data(buffer: collected))
    }

    /// The audit records once `done` holds for them (waiting up to 2 s): a response is recorded
    /// when its body has been relayed, which can be just after the client has read it.
    func auditRecords(until done: ([[String: Any]]) -> Bool) async throws -> [[String: Any]] {
        var records = try AuditLog.read(path: auditPath)
        for _ in 0..<40 where !done(records) {
            try await Task.sleep(for: .milliseconds(50))
            records = try AuditLog.read(path: auditPath)
        }
        return records
    }

    /// Bytes exactly as written, for request targets no HTTP client will send.
    func raw(_ text: String) async throws -> String { try await RawHTTP.exchange(port: port, text) }

    /// Stops the gateway as a signal would (a graceful shutdown: in-flight requests finish),
    /// keeping its files, to see what shutdown wrote and sent. Cancelling the task instead would
    /// tear the server's channels down mid-flight, which is not how it is ever stopped.
    func stopServing() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

    func stop() async {
        await stopServing()
        await idp.stop()
        await upstream.stop()
        dir.remove()
    }
}
