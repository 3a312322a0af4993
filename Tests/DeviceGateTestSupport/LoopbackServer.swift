import DeviceGateKit
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOPosix

/// What a test server received.
public struct RecordedRequest: Sendable {
    public let method: String
    public let path: String
    public let query: String?
    public let headers: [(name: String, value: String)]
    public let bytes: Data
    public var body: String { String(decoding: bytes, as: UTF8.self) }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// The body as a form, for OAuth endpoints.
    public var form: [String: String] {
        Dictionary(FormEncoding.decode(body), uniquingKeysWith: { first, _ in first })
    }
}

/// What a test server answers.
public struct ScriptedResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: Data
    /// Close the connection without answering: a network failure as the client sees it.
    public var dropConnection = false

    public init(status: Int, headers: [(String, String)] = [], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func json(_ status: Int, _ object: [String: Any], headers: [(String, String)] = []) -> ScriptedResponse {
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return ScriptedResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: data)
    }

    public static func form(_ status: Int, _ fields: [(String, String)]) -> ScriptedResponse {
        ScriptedResponse(
            status: status, headers: [("Content-Type", "application/x-www-form-urlencoded")], body: Data(FormEncoding.encode(fields).utf8))
    }

    public static func html(_ status: Int) -> ScriptedResponse {
        ScriptedResponse(
            status: status, headers: [("Content-Type", "text/html")], body: Data("<html><body>Service Unavailable</body></html>".utf8))
    }

    public static func empty(_ status: Int) -> ScriptedResponse { ScriptedResponse(status: status) }

    public static var dropped: ScriptedResponse {
        var response = ScriptedResponse(status: 500)
        response.dropConnection = true
        return response
    }
}

/// A real HTTP/1.1 server on 127.0.0.1 with a scripted handler: tests drive the production
/// transport over a real socket instead of stubbing the transport protocol.
public final class LoopbackServer: Sendable {
    public let port: Int
    private let serverChannel: any Channel
    private let log = NIOLockedValueBox<[RecordedRequest]>([])
    private let connections = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])

    public var baseURL: URL { URL(string: "http://127.0.0.1:\(port)")! }
    public func url(_ path: String) -> URL { URL(string: "http://127.0.0.1:\(port)\(path)")! }
    public var requests: [RecordedRequest] { log.withLockedValue { $0 } }
    public func requests(to path: String) -> [RecordedRequest] { requests.filter { $0.path == path } }

    private init(port: Int, serverChannel: any Channel) {
        self.port = port
        self.serverChannel = serverChannel
    }

    public static func start(_ handler: @escaping @Sendable (RecordedRequest) async -> ScriptedResponse) async throws -> LoopbackServer {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(wrappingChannelSynchronously: channel)
                }
            }
        let instance = LoopbackServer(port: server.channel.localAddress!.port!, serverChannel: server.channel)
        Task {
            try? await withThrowingDiscardingTaskGroup { group in
                try await server.executeThenClose { inbound in
                    for try await connection in inbound {
                        group.addTask { await instance.serve(connection, handler) }
                    }
                }
            }
        }
        return instance
    }

    /// Stops listening and closes the connections it has open, as a server that is gone would
    /// (a client's idle keep-alive connection must not keep it answering).
    public func stop() async {
        try? await serverChannel.close()
        for connection in connections.withLockedValue({ Array($0.values) }) { try? await connection.close() }
    }

    private func serve(
        _ connection: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>,
        _ handler: @Sendable (RecordedRequest) async -> ScriptedResponse
    ) async {
        let channel = connection.channel
        connections.withLockedValue { $0[ObjectIdentifier(channel)] = channel }
        defer { _ = connections.withLockedValue { $0.removeValue(forKey: ObjectIdentifier(channel)) } }
        try? await connection.executeThenClose { inbound, outbound in
            var head: HTTPRequestHead?
            var body = ByteBuffer()
            for try await part in inbound {
                switch part {
                case .head(let h):
                    head = h
                    body.clear()
                case .body(var chunk):
                    body.writeBuffer(&chunk)
                case .end:
                    guard let head else { return }
                    let parts = head.uri.split(separator: "?", maxSplits: 1)
                    let request = RecordedRequest(
                        method: head.method.rawValue, path: String(parts.first ?? ""), query: parts.count > 1 ? String(parts[1]) : nil,
                        headers: head.headers.map { ($0.name, $0.value) }, bytes: Data(buffer: body))
                    log.withLockedValue { $0.append(request) }
                    let response = await handler(request)
                    if response.dropConnection { return }
                    var headers = HTTPHeaders(response.headers)
                    headers.replaceOrAdd(name: "Content-Length", value: "\(response.body.count)")
                    try await outbound.write(
                        .head(HTTPResponseHead(version: .http1_1, status: .init(statusCode: response.status), headers: headers)))
                    try await outbound.write(.body(.byteBuffer(ByteBuffer(bytes: response.body))))
                    try await outbound.write(.end(nil))
                }
            }
        }
    }
}

/// A scripted sequence of answers for one path; the last one repeats.
public final class Script: Sendable {
    private let answers: NIOLockedValueBox<[ScriptedResponse]>
    public init(_ answers: [ScriptedResponse]) { self.answers = NIOLockedValueBox(answers) }
    public func next() -> ScriptedResponse {
        answers.withLockedValue { list in list.count > 1 ? list.removeFirst() : list[0] }
    }
}
