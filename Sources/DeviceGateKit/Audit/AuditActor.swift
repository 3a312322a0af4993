#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// Who did something, as audit fields: the log must say not only that a sign-in, refresh or
/// logout happened but which person or process caused it.
public enum AuditActor {
    /// A command run at this machine: the command and the local user (name and uid) running it.
    public static func localUser(command: String) -> [String: AuditValue] {
        let uid = getuid()
        var fields: [String: AuditValue] = ["by": .string("cli"), "command": .string(command), "uid": .int(Int(uid))]
        if let entry = getpwuid(uid), let name = entry.pointee.pw_name { fields["user"] = .string(String(cString: name)) }
        return fields
    }

    /// A person in a Telegram chat talking to `devicegate bot`.
    public static func telegram(chat: Int64, user: Int64?) -> [String: AuditValue] {
        var fields: [String: AuditValue] = ["by": .string("telegram"), "chat": .int(Int(chat))]
        if let user { fields["telegram_user"] = .int(Int(user)) }
        return fields
    }

    /// An agent calling through the MCP server: the agent (its key's name over HTTP, `local` on
    /// stdio) and the door (`mcp-stdio`, `mcp-http`).
    public static func mcp(agent: String, door: String) -> [String: AuditValue] {
        ["by": .string("mcp"), "agent": .string(agent), "door": .string(door)]
    }

    /// The gateway acting on its own (auto sign-in, refresh, breaker).
    public static let gateway: [String: AuditValue] = ["by": .string("gateway")]
}
