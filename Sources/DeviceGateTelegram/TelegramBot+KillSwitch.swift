import DeviceGateKit

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `/freeze`, `/unfreeze` and `/kill`: the person's brake, from the chat.
extension TelegramBot {
    func freeze(_ name: String?, chat: Int64, from sender: TelegramUser?) async -> String {
        let targets: [Profile]
        do { targets = try name.map { [try config.profile(named: $0)] } ?? config.profiles.values.sorted { $0.name < $1.name } } catch {
            return Self.explain(error)
        }
        if targets.isEmpty { return Self.noProfiles }
        let who = sender?.displayName ?? "the chat"
        var done: [String] = []
        for profile in targets {
            do {
                try await killSwitch.freeze(profile.name, by: who, actor: AuditActor.telegram(chat: chat, user: sender?.id))
                done.append(TelegramHTML.bold(profile.name))
            } catch {
                return "Could not freeze \(TelegramHTML.bold(profile.name)): \(Self.explain(error))"
                    + (done.isEmpty ? "" : " (frozen before it: \(done.joined(separator: ", ")))")
            }
        }
        return "🧊 Frozen: \(done.joined(separator: ", ")). Every gateway call now answers 423 frozen, and token/exec refuse. "
            + "/unfreeze lifts it."
    }

    func unfreeze(_ name: String?, chat: Int64, from sender: TelegramUser?) async -> String {
        let targets: [Profile]
        do { targets = try name.map { [try config.profile(named: $0)] } ?? config.profiles.values.sorted { $0.name < $1.name } } catch {
            return Self.explain(error)
        }
        var lifted: [String] = []
        for profile in targets {
            do {
                if try await killSwitch.unfreeze(profile.name, actor: AuditActor.telegram(chat: chat, user: sender?.id)) {
                    lifted.append(TelegramHTML.bold(profile.name))
                }
            } catch {
                return "Could not unfreeze \(TelegramHTML.bold(profile.name)): \(Self.explain(error))"
            }
        }
        return lifted.isEmpty ? "Nothing was frozen." : "Unfrozen: \(lifted.joined(separator: ", "))."
    }

    func kill(_ name: String?, chat: Int64, from sender: TelegramUser?) async -> String {
        guard let name else { return "Name the profile to kill: /kill PROFILE. (A kill revokes and deletes; it never guesses.)" }
        let profile: Profile
        do { profile = try config.profile(named: name) } catch { return Self.explain(error) }
        let bold = TelegramHTML.bold(profile.name)
        do {
            let report = try await killSwitch.kill(
                profile, by: sender?.displayName ?? "the chat", actor: AuditActor.telegram(chat: chat, user: sender?.id))
            var lines = ["☠️ Killed \(bold): frozen, and the stored tokens are deleted."]
            if !report.hadTokens { lines.append("Nothing was stored, so nothing needed revoking.") }
            for outcome in report.revocations {
                lines.append(
                    "\(outcome.revoked ? "✓ revoked" : "✗ not revoked") \(TelegramHTML.escape(outcome.token)): \(TelegramHTML.escape(outcome.detail))"
                )
            }
            if let problem = report.providerProblem { lines.append("✗ could not revoke at the provider: \(TelegramHTML.escape(problem))") }
            lines.append("/unfreeze \(TelegramHTML.escape(profile.name)) and /auth \(TelegramHTML.escape(profile.name)) bring it back.")
            return lines.joined(separator: "\n")
        } catch {
            return "Kill of \(bold) did not finish: \(Self.explain(error)). It is frozen if the freeze was written; check /status."
        }
    }
}
