#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A short preview of a held call's body for the person deciding: enough to recognise what is
/// being sent ("to: bob@…, subject: …"), with anything that looks like a secret masked, since
/// the message lands in a chat.
///
/// JSON bodies: values under secret-looking names (password, token, secret, key, authorization,
/// cookie, session, credential, pin, otp, cvv, card) become `"•••"`, recursively. Form bodies:
/// the same by field name. Any text: long token-shaped words (JWTs, 24+ characters of
/// base64/hex without spaces) become `•••`. Binary or empty bodies get no preview.
public enum BodyPreview {
    /// Characters of preview at most; the message also shows the size and SHA-256.
    public static let limit = 300
    static let mask = "•••"
    static let secretNames = [
        "password", "passwd", "secret", "token", "key", "authorization", "auth", "cookie", "session", "credential", "pin",
        "otp", "cvv", "cvc", "card", "iban", "signature",
    ]

    public static func make(_ body: [UInt8], contentType: String?) -> String? {
        guard !body.isEmpty, let text = String(validating: body, as: UTF8.self) else { return nil }
        if text.unicodeScalars.contains(where: { $0.value < 0x20 && !["\n", "\r", "\t"].contains($0) }) { return nil }
        let type = contentType?.lowercased() ?? ""
        let shown: String
        if let json = JSONValue.parse(Data(body)) {
            shown = String(decoding: maskJSON(json).encoded(), as: UTF8.self)
        } else if type.hasPrefix("application/x-www-form-urlencoded") {
            shown = maskForm(text)
        } else if type.isEmpty || type.hasPrefix("text/") || type.contains("xml") {
            shown = text
        } else {
            return nil
        }
        let cleaned = maskTokens(shown)
        return cleaned.count > limit ? String(cleaned.prefix(limit)) + "…" : cleaned
    }

    static func isSecretName(_ name: String) -> Bool {
        let lower = name.lowercased()
        return secretNames.contains { lower.contains($0) }
    }

    static func maskJSON(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let object):
            var out: [String: JSONValue] = [:]
            for (key, child) in object { out[key] = isSecretName(key) ? .string(mask) : maskJSON(child) }
            return .object(out)
        case .array(let array): return .array(array.map(maskJSON))
        default: return value
        }
    }

    static func maskForm(_ text: String) -> String {
        text.split(separator: "&", omittingEmptySubsequences: false).map { pair in
            let name = pair.prefix { $0 != "=" }
            let decoded = PercentEncoding.decode(name) ?? String(name)
            return isSecretName(decoded) && pair.contains("=") ? "\(name)=\(mask)" : String(pair)
        }.joined(separator: "&")
    }

    /// Words that look like credentials whatever their field: a JWT, or a long unbroken run of
    /// base64/hex characters.
    static func maskTokens(_ text: String) -> String {
        var out = ""
        var word = ""
        func flush() {
            out += looksLikeToken(word) ? mask : word
            word = ""
        }
        for character in text {
            if character.isLetter || character.isNumber || "-_.+/=~".contains(character) {
                word.append(character)
            } else {
                flush()
                out.append(character)
            }
        }
        flush()
        return out
    }

    static func looksLikeToken(_ word: String) -> Bool {
        if word.hasPrefix("eyJ") && word.count >= 20 { return true }
        guard word.count >= 24, word.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_+/=.~".contains($0)) }) else {
            return false
        }
        // Long words of letters only are prose or names, not keys.
        return word.contains { $0.isNumber }
    }
}
