import DeviceGateKit
import Foundation

/// The gateway's request path (RequestPath) and the allow rules matched against it
/// (PolicyRule): line 1 is the method, line 2 an allow rule as written in a config, the rest the
/// path. Beyond "no trap", an accepted path must hold what the gateway relies on.
enum RequestPathTarget {
    static let fixedRules = ["GET /v1.0/me/messages/**", "POST /repos/*/issues", "* /a/*/c", "read-only"].compactMap {
        $0 == "read-only" ? PolicyRule.readOnly.first : try? PolicyRule($0)
    }

    static func run(_ data: Data) {
        var reader = InputReader(data)
        let method = reader.line()
        let ruleText = reader.line()
        let raw = reader.restText
        let rule = try? PolicyRule(ruleText)
        if let rule {
            check(rule.pattern.allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }, "a rule kept an empty or dot segment", ruleText)
            if let index = rule.pattern.firstIndex(of: "**") { check(index == rule.pattern.count - 1, "** inside a rule", ruleText) }
        }
        guard let path = try? RequestPath(raw) else { return }
        check(!raw.contains("#") && !raw.contains("?"), "an accepted path holds # or ?", raw)
        check(path.segments.allSatisfy { !$0.isEmpty }, "an accepted path has an empty segment", raw)
        check(path.segments.allSatisfy { $0 != "." && $0 != ".." }, "an accepted path has a dot segment", raw)
        check(path.segments.allSatisfy { !$0.contains("/") }, "a segment holds a /", raw)
        for candidate in fixedRules + (rule.map { [$0] } ?? []) {
            let allowed = candidate.allows(method: method, path: path)
            // `**` at the end allows every path below its prefix, whatever the rest.
            if allowed, candidate.pattern.last != "**" {
                check(candidate.pattern.count == path.segments.count, "a rule allowed a path of another length", raw)
            }
        }
    }

    static func check(_ condition: Bool, _ what: String, _ input: String) {
        if !condition { fatalError("request-path invariant broken: \(what): \(input.debugDescription)") }
    }
}
