import DeviceGateKit

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The texts of approval messages: what the person sees before deciding, the buttons, and the
/// line that replaces the buttons when it ends. Every outside string (agent names, paths,
/// parameter names, the preview, people's names) is escaped; nothing here can hold a secret,
/// because ``ApprovalRequest`` holds none.
enum ApprovalMessages {
    static let approveOnce = "✅ Approve once"
    static let approveForWindow = "⏱ Approve for 15 minutes"
    static let deny = "🚫 Deny"

    static func text(_ request: ApprovalRequest, now: Date) -> String {
        let h = TelegramHTML.self
        var lines: [String] = []
        switch request.subject {
        case .call(let call):
            lines.append("🔐 <b>Approval needed</b> · profile \(h.bold(request.profile))")
            lines.append("Agent: \(h.bold(request.agent))")
            lines.append(h.code("\(call.method) \(h.clip(call.path, 300))"))
            if !call.queryNames.isEmpty {
                lines.append("Query parameters: \(h.escape(h.clip(call.queryNames.joined(separator: ", "), 300)))")
            }
            if call.bodySize > 0 {
                lines.append("Body: \(call.bodySize) bytes · SHA-256 \(h.code(call.bodySHA256))")
                if let preview = call.preview { lines.append("<pre>\(h.escape(preview))</pre>") }
            } else {
                lines.append("No body")
            }
        case .rawToken(let requester):
            lines.append("🔑 <b>Raw token for \(h.escape(request.profile)) requested</b> by \(h.escape(requester))")
            lines.append("It leaves the gateway's rules behind: the process can use it for anything the token allows.")
        case .breakerLock(let reason):
            lines.append("🔒 <b>\(h.escape(request.profile)) was locked by the breaker</b>: \(h.escape(reason)).")
            lines.append("Its tokens were revoked. Unlock once it is safe, then sign in again (/auth \(h.escape(request.profile))).")
            lines.append("Buttons expire \(clock(request.expiresAt)); `devicegate unlock \(h.escape(request.profile))` works any time.")
            return lines.joined(separator: "\n")
        }
        lines.append("Rule: \(h.code(request.rule))")
        lines.append("Expires \(clock(request.expiresAt)) (in \(duration(request.expiresAt.timeIntervalSince(now)))).")
        return lines.joined(separator: "\n")
    }

    static let unlock = "🔓 Unlock"
    static let keepLocked = "🔒 Keep locked"

    static func keyboard(_ request: ApprovalRequest, signer: ApprovalTicket.Signer, chat: Int64) -> InlineKeyboard {
        func button(_ title: String, _ answer: ApprovalAnswer) -> InlineKeyboard.Button {
            InlineKeyboard.Button(
                text: title,
                callbackData: signer.encode(ApprovalTicket(action: Character(answer.rawValue), id: request.id), for: String(chat)))
        }
        if case .breakerLock = request.subject {
            // No window: an unlock is one decision.
            return InlineKeyboard([[button(unlock, .approveOnce), button(keepLocked, .deny)]])
        }
        return InlineKeyboard([
            [button(approveOnce, .approveOnce), button(approveForWindow, .approveForWindow)], [button(deny, .deny)],
        ])
    }

    /// The line that replaces the buttons.
    static func ending(_ request: ApprovalRequest, _ verdict: ApprovalVerdict, result: String?) -> String {
        let h = TelegramHTML.self
        if case .breakerLock = request.subject {
            switch verdict {
            case .approved(let person, _): return "🔓 Unlocked by \(h.bold(person.name))."
            case .denied(let person): return "🔒 Kept locked by \(h.bold(person.name))."
            default: return "🔒 Still locked; `devicegate unlock \(h.escape(request.profile))` lifts it."
            }
        }
        switch verdict {
        case .approved(let person, let window):
            return "✅ Approved by \(h.bold(person.name))" + (window ? " for 15 minutes (this rule, this agent)" : "")
                + (result.map { " — \(h.escape($0))" } ?? "")
        case .coveredByWindow:
            return "✅ Approved by an open 15-minute window" + (result.map { " — \(h.escape($0))" } ?? "")
        case .denied(let person):
            return "🚫 Denied by \(h.bold(person.name)); the agent was refused (approval_denied)."
        case .timedOut:
            return "⌛ No answer in time; the agent was refused (approval_timeout)."
        case .withdrawn:
            return "↩️ The caller went away before a decision; nothing was sent."
        case .unavailable(let reason):
            return "⚠️ Not decided: \(h.escape(reason))"
        }
    }

    static func clock(_ date: Date) -> String {
        let second = Int(date.timeIntervalSince1970.rounded(.down)) % 86_400
        let ofDay = second < 0 ? second + 86_400 : second
        return String(printf: "%02ld:%02ld:%02ld UTC", ofDay / 3600, ofDay % 3600 / 60, ofDay % 60)
    }

    static func duration(_ seconds: TimeInterval) -> String {
        TelegramBot.duration(max(0, Int(seconds.rounded())))
    }
}
