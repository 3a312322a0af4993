#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The `[gateway]` table: where `devicegate serve` listens and how strict it is.
public struct GatewayConfig: Sendable, Equatable {
    /// `host:port`; loopback by default, because the gateway hands out the person's authority.
    public var listen = "127.0.0.1:8787"
    /// A Unix socket (mode 0600) instead of TCP.
    public var socket: String?
    /// `/healthz` and `/metrics`, on a separate listener so agents cannot reach them.
    public var adminListen = "127.0.0.1:8788"
    public var maxRequestBytes = 10 << 20
    public var connectTimeout = 10
    public var readTimeout = 60
    /// Seconds a new connection has to send its first complete request head (slowloris).
    public var headerTimeout = 10
    /// Seconds a keep-alive connection may sit without a complete request part.
    public var idleTimeout = 60
    /// Concurrent agent connections; more are closed at once.
    public var maxConnections = 1024
    /// Default: `audit.jsonl` in the data directory.
    public var auditLog: String?
    /// Per-agent keys: name → `sha256:<hex>` of the key. Empty: loopback callers need no key.
    public var agents: [String: String] = [:]
    /// Within one minute, more than this many failed sign-ins lock the profile (the seed's alert rule).
    public var breakerFailedSignIns = 5
    public var breakerDenials = 20
    /// Upstream 401s that a refresh did not cure.
    public var breakerUpstreamRejections = 3
    /// Serve the MCP tools at `/mcp` on the agent listener (streamable HTTP), behind the same
    /// agent keys and the same policy as every other call.
    public var mcp = false

    public init() {}

    static let keys = [
        "listen", "socket", "admin_listen", "max_request_bytes", "connect_timeout", "read_timeout", "audit_log", "agents",
        "header_timeout", "idle_timeout", "max_connections", "breaker_failed_signins", "breaker_denials", "breaker_upstream_rejections",
        "mcp",
    ]

    static func parse(_ root: TOMLTable, path: String?) throws -> GatewayConfig {
        var config = GatewayConfig()
        guard let value = root["gateway"] else { return config }
        guard let table = value.table else {
            throw ConfigError(file: path, line: root.line(of: "gateway"), "`gateway` must be a table: [gateway]")
        }
        for key in table.keys {
            let line = table.line(of: key)
            guard keys.contains(key) else {
                throw ConfigError(file: path, line: line, "gateway: unknown key `\(key)`" + ConfigLoader.suggestion(key, keys))
            }
            guard let item = table[key] else { continue }
            func string() throws -> String {
                guard let s = item.string else { throw ConfigError(file: path, line: line, "gateway.\(key) must be a string") }
                return s
            }
            func number() throws -> Int {
                guard let n = item.int, n > 0 else {
                    throw ConfigError(file: path, line: line, "gateway.\(key) must be a positive whole number")
                }
                return n
            }
            switch key {
            case "listen": config.listen = try string()
            case "socket": config.socket = try string()
            case "admin_listen": config.adminListen = try string()
            case "max_request_bytes": config.maxRequestBytes = try number()
            case "connect_timeout": config.connectTimeout = try number()
            case "read_timeout": config.readTimeout = try number()
            case "audit_log": config.auditLog = try string()
            case "header_timeout": config.headerTimeout = try number()
            case "idle_timeout": config.idleTimeout = try number()
            case "max_connections": config.maxConnections = try number()
            case "breaker_failed_signins": config.breakerFailedSignIns = try number()
            case "breaker_denials": config.breakerDenials = try number()
            case "breaker_upstream_rejections": config.breakerUpstreamRejections = try number()
            case "mcp":
                guard let flag = item.bool else { throw ConfigError(file: path, line: line, "gateway.mcp must be true or false") }
                config.mcp = flag
            case "agents":
                guard let agents = item.table else {
                    throw ConfigError(file: path, line: line, "gateway.agents must be a table: [gateway.agents] NAME = \"sha256:…\"")
                }
                for name in agents.keys {
                    guard let hash = agents[name]?.string, hash.hasPrefix("sha256:"), hash.count == 71 else {
                        throw ConfigError(
                            file: path, line: agents.line(of: name),
                            "gateway.agents.\(name) must be \"sha256:<64 hex digits>\" as printed by `devicegate agent-key \(name)`")
                    }
                    config.agents[name] = hash
                }
            default: break
            }
        }
        for (key, text) in [("listen", config.listen), ("admin_listen", config.adminListen)] {
            let address: ListenAddress
            do { address = try ListenAddress(text) } catch {
                throw ConfigError(file: path, line: table.line(of: key), "gateway.\(key): \(error)")
            }
            // Allowed (a compose network needs it), but only with agent keys.
            if key == "listen", config.socket == nil, !address.isLoopback, config.agents.isEmpty {
                throw ConfigError(
                    file: path, line: table.line(of: "listen"),
                    "gateway.listen = \"\(config.listen)\" is not loopback; that needs agent keys ([gateway.agents]) so that only your agents can call it"
                )
            }
        }
        return config
    }
}
