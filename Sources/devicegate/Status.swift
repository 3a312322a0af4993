import ArgumentParser
import DeviceGateKit

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show whether profiles are signed in, as whom, and until when.",
        discussion: prose(
            """
            Reads the store only: it never refreshes or contacts the identity provider. Without a
            profile, shows every configured profile.

            Exit codes: 0 all shown profiles signed in · 3 at least one is not · 78 config error.
            """))

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The profile (default: all configured profiles).", completion: ProfileCompletion.kind)
    var profile: String?

    @Flag(help: "Print JSON: one object for a profile, an array for all.")
    var json = false

    func run() async throws {
        try await reportingErrors {
            let workspace = try global.workspace()
            let profiles = try profile.map { [try workspace.profile($0)] } ?? workspace.config.profiles.values.sorted { $0.name < $1.name }
            if profiles.isEmpty { _ = try workspace.profile(nil) }  // explains how to configure one
            let statuses = try await workspace.withStores { tokens, _ in
                var statuses: [ProfileStatus] = []
                for profile in profiles { statuses.append(await ProfileStatus.read(profile, store: tokens, now: workspace.time.now())) }
                return statuses
            }
            if json {
                let objects = statuses.map(\.jsonObject)
                print(String(decoding: (profile == nil ? JSONValue.array(objects) : objects[0]).encoded(), as: UTF8.self))
            } else {
                print(statuses.map { Self.text($0, now: workspace.time.now()) }.joined(separator: "\n"))
            }
            if statuses.contains(where: { !$0.signedIn }) { throw ExitCode(Exit.signInNeeded) }
        }
    }

    static func text(_ s: ProfileStatus, now: Date) -> String {
        var lines: [String]
        if s.grant.isService {
            lines = [
                "\(s.profile) (\(s.provider), \(s.grant.rawValue)): service identity, "
                    + (s.expiresAt == nil ? "no token cached yet (one is requested on first use)" : "token cached")
            ]
        } else {
            lines = [
                "\(s.profile) (\(s.provider)): "
                    + (s.signedIn ? "signed in" + (s.identity.map { " as \($0.displayName)" } ?? "") : "not signed in")
            ]
        }
        if let problem = s.problem { lines.append("  problem:  \(problem)") }
        if let frozen = s.frozen { lines.append("  frozen:   \(frozen) (/unfreeze \(s.profile) in the chat)") }
        if let locked = s.locked { lines.append("  locked:   \(locked) (devicegate unlock \(s.profile))") }
        if !s.scopes.isEmpty { lines.append("  scopes:   \(s.scopes.joined(separator: " "))") }
        if let expiry = s.expiresAt {
            let left = Int(expiry.timeIntervalSince(now))
            lines.append(
                "  token:    " + (left > 0 ? "valid for \(Duration(left))" : "expired \(Duration(-left)) ago")
                    + " (until \(JSONTime.string(expiry)))")
        }
        if s.identity != nil || s.hasRefreshToken {
            lines.append("  refresh:  " + (s.hasRefreshToken ? "refresh token held" : "no refresh token"))
        }
        lines.append("  store:    \(s.store.backend), \(s.store.encryption), \(s.store.keySource)")
        lines.append("            \(s.store.path)")
        return lines.joined(separator: "\n")
    }

    static func Duration(_ seconds: Int) -> String {
        if seconds >= 3600 { return "\(seconds / 3600) h \(seconds % 3600 / 60) min" }
        if seconds >= 60 { return "\(seconds / 60) min" }
        return "\(seconds) s"
    }
}
