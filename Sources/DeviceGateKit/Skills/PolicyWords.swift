#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A profile's gateway policy in words, for a model to read: the skill files and the MCP tool
/// descriptions say the same thing, so they are written in one place.
public enum PolicyWords {
    /// The allowed calls as a list ("GET /me, GET /mail/** and HEAD /**"), cut at `limit`
    /// characters so one long policy cannot crowd out everything else a model reads.
    public static func rules(_ settings: GatewaySettings, limit: Int = 400) -> String {
        let rules = settings.effectiveRules.map(\.description)
        if rules.isEmpty { return "nothing" }
        let text = list(rules)
        return text.count > limit ? String(text.prefix(limit)) + " …" : text
    }

    /// One sentence: the upstream, the allowed calls, the limits and whether a call without a
    /// sign-in sends the person a code.
    public static func summary(_ settings: GatewaySettings) -> String {
        var text = "calls \(settings.upstream.host ?? settings.upstream.absoluteString); allows only \(rules(settings))"
        var limits: [String] = []
        if let minute = settings.requestsPerMinute { limits.append("\(minute) a minute") }
        if let hour = settings.requestsPerHour { limits.append("\(hour) an hour") }
        if !limits.isEmpty { text += "; at most \(limits.joined(separator: " and ")) calls" }
        if settings.autoLogin { text += "; a call without a sign-in sends the person a code (auto_login)" }
        return text
    }

    /// "a", "a and b", "a, b and c".
    public static func list(_ items: [String]) -> String {
        switch items.count {
        case 0: ""
        case 1: items[0]
        case 2: "\(items[0]) and \(items[1])"
        default: items.dropLast().joined(separator: ", ") + " and " + items.last!
        }
    }
}
