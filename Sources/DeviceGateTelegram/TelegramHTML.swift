import DeviceGateKit

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Telegram's HTML parse mode, the only markup devicegate sends.
///
/// HTML needs just `&`, `<` and `>` escaped (plus `"` inside attributes), where MarkdownV2
/// reserves eighteen characters whose escaping differs inside code spans and links. Every
/// piece of outside text (names, emails, provider messages, profile names, error texts) goes
/// through ``escape(_:)``, so none can break the markup or inject a link.
public enum TelegramHTML {
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(character)
            }
        }
        return out
    }

    public static func bold(_ text: String) -> String { "<b>\(escape(text))</b>" }
    public static func italic(_ text: String) -> String { "<i>\(escape(text))</i>" }
    /// A code span: one tap copies it in Telegram's apps.
    public static func code(_ text: String) -> String { "<code>\(escape(text))</code>" }

    /// Cuts outside text to a length that keeps the whole message under Telegram's 4096
    /// characters.
    public static func clip(_ text: String, _ limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }
}

/// The texts of the sign-in messages. One place, so the notifier, the bot and the tests agree.
///
/// The wording of the confirmations follows the seed's `telegram_auth.py` ("Auth Required",
/// "Signed in as NAME (EMAIL)", "Already authenticated.", "Auth failed: REASON"), which people
/// and skills already know.
public enum SignInMessages {
    public static let buttonTitle = "Open sign-in page"

    /// The code message: profile, provider, scopes, link, code, expiry.
    public static func code(_ code: SignInEvent.CodeIssued, now: Date) -> String {
        let h = TelegramHTML.self
        var lines = ["🔐 <b>Auth Required</b>", ""]
        lines.append("Profile \(h.bold(code.profile)) asks to sign in to \(h.bold(h.clip(code.provider, 100))).")
        if !code.scopes.isEmpty { lines.append("Scopes: \(h.code(h.clip(code.scopes.joined(separator: " "), 600)))") }
        lines.append("")
        lines.append("1. Open \(h.escape(h.clip(code.verificationURI, 500)))")
        lines.append("2. Enter the code \(h.code(code.userCode))")
        if code.verificationURIComplete != nil {
            lines.append("(or tap “\(buttonTitle)” below: the code is filled in for you)")
        }
        lines.append("")
        lines.append("The code expires \(expiry(code.expiresAt, now: now)).")
        if let message = code.message, !message.isEmpty {
            lines.append("")
            lines.append(h.italic(h.clip(message, 800)))
        }
        return lines.joined(separator: "\n")
    }

    /// The URL button: straight to the page with the code filled in when the provider offers it.
    public static func keyboard(_ code: SignInEvent.CodeIssued) -> InlineKeyboard {
        InlineKeyboard([[InlineKeyboard.Button(text: buttonTitle, url: code.verificationURIComplete ?? code.verificationURI)]])
    }

    /// What the code message becomes when the sign-in ends, so no stale code lingers.
    public static func codeMessageAfter(_ event: SignInEvent) -> String? {
        let h = TelegramHTML.self
        let profile = h.bold(event.profile)
        switch event {
        case .signedIn(let s):
            return "✅ Profile \(profile): signed in as \(h.escape(s.identity?.displayName ?? "an unknown user")). This code is used up."
        case .declined(_, let message):
            return "❌ Profile \(profile): the sign-in was declined" + (message.map { " (\(h.escape(h.clip($0, 300))))" } ?? "")
                + ". This code is no longer valid."
        case .expired:
            return "⌛ Profile \(profile): the code expired before it was approved. Start the sign-in again for a new code."
        case .failed(_, let message):
            return "❌ Profile \(profile): the sign-in stopped: \(h.escape(h.clip(message, 500))). This code is no longer valid."
        case .alreadySignedIn, .codeIssued, .warning:
            return nil
        }
    }

    /// The short message sent when a sign-in ends.
    public static func confirmation(_ event: SignInEvent) -> String? {
        let h = TelegramHTML.self
        switch event {
        case .signedIn(let s):
            return "Signed in as \(h.escape(s.identity?.displayName ?? "an unknown user"))"
        case .alreadySignedIn(let profile, let identity, _):
            return "Already authenticated." + "\nProfile \(h.bold(profile))"
                + (identity.map { ", signed in as \(h.escape($0.displayName))" } ?? "")
                + "."
        case .declined(_, let message):
            return "Auth failed: declined" + (message.map { " (\(h.escape(h.clip($0, 300))))" } ?? "")
        case .expired:
            return "Auth failed: the code expired before it was approved"
        case .failed(_, let message):
            return "Auth failed: \(h.escape(h.clip(message, 500)))"
        case .codeIssued, .warning:
            return nil
        }
    }

    /// "in 15 min (14:32 UTC)".
    static func expiry(_ date: Date, now: Date) -> String {
        let seconds = max(0, Int(date.timeIntervalSince(now).rounded()))
        let span = seconds >= 120 ? "\(seconds / 60) min" : "\(seconds) s"
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.hour, .minute], from: date)
        return "in \(span) (at " + String(printf: "%02ld:%02ld UTC", parts.hour ?? 0, parts.minute ?? 0) + ")"
    }
}
