import Foundation

/// One parser of outside input, driven by arbitrary bytes.
struct FuzzTarget: Sendable {
    let name: String
    /// What the input is, for `--help` and docs/security.md.
    let input: String
    let run: @Sendable (Data) -> Void
}

enum FuzzTargets {
    static let list: [FuzzTarget] = [
        FuzzTarget(name: "config", input: "config.toml text, then the profile checks and provider presets", run: ConfigTarget.run),
        FuzzTarget(name: "notifier", input: "TELEGRAM_CHAT_ID line, TELEGRAM_API_BASE line, then config text", run: NotifierTarget.run),
        FuzzTarget(name: "store", input: "a store file, or (first byte 'P') a record sealed with the fixed key", run: StoreTarget.run),
        FuzzTarget(name: "token-answer", input: "status byte, content-type byte, token endpoint body", run: TokenAnswerTarget.run),
        FuzzTarget(name: "id-token", input: "mode byte, then an id_token, its claims, a JWKS, or a profile answer", run: IDTokenTarget.run),
        FuzzTarget(name: "discovery", input: "issuer URL line, then a discovery document", run: DiscoveryTarget.run),
        FuzzTarget(name: "telegram", input: "the result array of a getUpdates answer", run: TelegramTarget.run),
        FuzzTarget(name: "metadata-service", input: "kind byte, then up to four metadata-service answers", run: ManagedIdentityTarget.run),
        FuzzTarget(name: "audit", input: "an audit log, optionally \\u{1E} and its .head file", run: AuditTarget.run),
        FuzzTarget(name: "request-path", input: "method line, allow-rule line, then a request path", run: RequestPathTarget.run),
        FuzzTarget(name: "database-url", input: "a PostgreSQL URL as [store] url_env/url_file give it", run: DatabaseURLTarget.run),
        FuzzTarget(
            name: "mcp-message", input: "one JSON-RPC message to the MCP server (a leading H: with 2026-07-28 HTTP headers)",
            run: MCPTarget.run),
    ]

    static let all = Dictionary(uniqueKeysWithValues: list.map { ($0.name, $0) })
    static var names: [String] { list.map(\.name) }

    /// DEVICEGATE_FUZZ_TARGET, read once: libFuzzer passes only the input.
    static let selected: FuzzTarget = {
        let name = ProcessInfo.processInfo.environment["DEVICEGATE_FUZZ_TARGET"] ?? ""
        guard let target = all[name] else {
            FileHandle.standardError.write(
                Data("DEVICEGATE_FUZZ_TARGET must name a target (\(names.joined(separator: ", "))), not \"\(name)\"\n".utf8))
            exit(2)
        }
        return target
    }()
}
