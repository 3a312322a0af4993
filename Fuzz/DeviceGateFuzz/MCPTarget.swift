import DeviceGateKit
import DeviceGateMCP
import Foundation
import HTTPTypes
import Logging

/// One JSON-RPC message as an MCP client (or anything on stdin or at /mcp) may send, through the
/// server the program runs: classification, both protocol eras, and the tools' argument checks.
/// The profile has no stored sign-in, so an `http_request` that passes its checks is refused by
/// the access core before any network; `sign_in` is not offered (it would start a device flow).
/// Beyond "no trap", every request gets exactly one answer that is a JSON-RPC 2.0 message.
enum MCPTarget {
    static let server: MCPServer = {
        let text = """
            [profiles.work]
            provider = "oidc"
            issuer = "https://id.example"
            client_id = "fuzz"
            upstream = "http://127.0.0.1:9/api"
            allow = ["GET /me", "POST /notes/*"]
            """
        guard let config = try? ConfigLoader(environment: [:]).parse(text, path: "fuzz.toml"), let work = config.profiles["work"] else {
            fatalError("fuzz setup: the MCP target's config does not parse")
        }
        let store = FuzzFixtures.store
        let keeper = Gatekeeper(
            profiles: [work], config: config.gateway, store: store,
            audit: AuditLog(path: FuzzFixtures.directory + "/mcp-audit.jsonl", store: store), transport: CannedTransport(),
            time: FuzzTime(), signIns: NoSignIn(), alerter: NoAlerts(),
            logger: Logger(label: "fuzz", factory: { _ in SwiftLogNoOpLogHandler() }))
        let signIns = SignIns { _, _, _ in throw CancellationError() }
        let context = ProfileContext(profiles: [work], store: store, time: FuzzTime(), signIns: signIns)
        let tools = Toolbox.tools(context, keeper: keeper).filter { $0.name != "sign_in" }
        return MCPServer(tools: tools, instructions: "fuzz")
    }()

    static func run(_ data: Data) {
        let headers = data.first == UInt8(ascii: "H") ? ["mcp-protocol-version": "2026-07-28", "mcp-method": "tools/call"] : nil
        let answer = runBlocking { await server.handle(data, caller: .init(agent: "fuzz", door: "fuzz"), headers: headers) }
        guard let answer else { return }
        guard let object = JSONValue.parse(answer.body)?.object, object["jsonrpc"] == "2.0", object["id"] != nil,
            (object["result"] == nil) != (object["error"] == nil)
        else { fatalError("an MCP answer is not one JSON-RPC response: \(String(decoding: answer.body, as: UTF8.self))") }
    }

    struct NoSignIn: SignInStarter {
        func signIn(_ profile: Profile) async throws { throw CancellationError() }
    }

    struct NoAlerts: PersonAlerter {
        func alert(_ message: String, about profile: Profile) async {}
    }
}
