import Foundation
import Testing

@testable import DeviceGateKit

/// The Kit's replacements for Foundation-only APIs (issue 14) against Foundation itself, which
/// tests may still use: same inputs, same answers, so leaving Foundation changed no behaviour.
@Suite struct FoundationParityTests {
    /// Awkward text: every ASCII character, white space of all kinds, combining marks,
    /// fullwidth and compatibility forms, emoji, and what sits between them.
    static let samples: [String] = {
        var samples = [
            "", " ", "\t", "\n", "\r\n", "a", " a ", "\u{A0}a\u{3000}", "\u{85}x\u{2028}", "\u{2029}\u{200A} y \u{1680}",
            "\t\n line \r\n", "e\u{301}", " \u{301}", "ＡＢ．／＼", "a b+c&d=e/f?g#h%i", "é ü ß ø", "日本語 テキスト", "🙂 👍🏽",
            "%41%zz%", "..;x", "\u{2024}\u{2025}", "\u{FF0E}\u{FF0E}", "a\u{FF0F}b", "x\u{FF1B}y", "\u{2100}", "\u{33C2}",
            "\u{0}\u{1}\u{7F}", "\u{FEFF}bom\u{FEFF}", "token-._~", "Zs:\u{2000}\u{2001}\u{2002}\u{202F}\u{205F}",
        ]
        samples.append(String((0x20...0x7E).map { Character(UnicodeScalar(UInt8($0))) }))
        return samples
    }()

    @Test func trimmingMatchesCharacterSetTrimming() {
        for text in Self.samples + Self.samples.map({ " \t\($0)\u{3000}\n" }) {
            #expect(text.trimmingWhitespace() == text.trimmingCharacters(in: .whitespaces), "\(Array(text.unicodeScalars))")
            #expect(
                text.trimmingWhitespaceAndNewlines() == text.trimmingCharacters(in: .whitespacesAndNewlines),
                "\(Array(text.unicodeScalars))")
        }
    }

    @Test func percentEncodingMatchesFoundation() {
        var unreserved = CharacterSet()
        unreserved.insert(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        let alphanumerics = CharacterSet.alphanumerics.union(.init(charactersIn: "-._~"))
        for text in Self.samples {
            #expect(PercentEncoding.encode(text) == text.addingPercentEncoding(withAllowedCharacters: unreserved), "\(text)")
            // TokenRedactor and the raw-token socket used the Unicode alphanumerics: Foundation
            // encodes non-ASCII letters anyway, so the set is the same.
            #expect(PercentEncoding.encode(text) == text.addingPercentEncoding(withAllowedCharacters: alphanumerics), "\(text)")
            let encoded = text.addingPercentEncoding(withAllowedCharacters: unreserved)!
            #expect(PercentEncoding.decode(encoded) == encoded.removingPercentEncoding, "\(encoded)")
            #expect(PercentEncoding.decode(text) == text.removingPercentEncoding, "\(text)")
        }
        for malformed in ["%", "%4", "%zz", "a%2", "%FF", "%C3", "%C3%A9", "100%"] {
            #expect(PercentEncoding.decode(malformed) == malformed.removingPercentEncoding, "\(malformed)")
        }
    }

    /// Not `//` (NSString answers "" for both), and not a bare name (`a`, `a/`), whose parent
    /// NSString traps on in Linux's Foundation: ours answers `/` and `.` there, so that a file
    /// written next to a relative path stays in the current directory.
    @Test func pathComponentsMatchNSString() {
        #expect(PathComponents.parent(of: "audit.jsonl") == "." && PathComponents.parent(of: "a/") == ".")
        #expect(PathComponents.last(of: "a/") == "a" && PathComponents.parent(of: "//") == "/")
        let paths = [
            "", "/", "/a", "/a/", "/a/b", "/a/b/", "/a//b", "a/b", "a/b/c.toml", "/var/lib/devicegate/audit.jsonl",
            "./x", "../x", "/a/b//",
        ]
        for path in paths {
            #expect(PathComponents.parent(of: path) == (path as NSString).deletingLastPathComponent, "parent of \(path)")
            #expect(PathComponents.last(of: path) == (path as NSString).lastPathComponent, "last of \(path)")
        }
    }

    @Test func printfMatchesStringFormat() {
        for seconds in [0, 5, 59, 60, 61, 599, 3600, 86_399] {
            #expect(String(printf: "%ld:%02ld", seconds / 60, seconds % 60) == String(format: "%d:%02d", seconds / 60, seconds % 60))
        }
        for value in [0.2, 0.25, 0.35, 1.05, 2.5, 29.95, 1e-7, 123_456.789] {
            #expect(String(printf: "%.1f", value) == String(format: "%.1f", value), "\(value)")
        }
    }

    @Test func hexAndBase64URLMatchFoundation() {
        for bytes in [[], [0], [0xFF], Array(0...255), Array("devicegate".utf8)] as [[UInt8]] {
            #expect(Hex.lowercase(bytes) == bytes.map { String(format: "%02x", $0) }.joined())
            let base64url = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            #expect(Base64URL.encode(bytes) == base64url)
            #expect(Base64URL.decode(base64url) == Data(bytes))
        }
        #expect(Base64URL.decode("a+b/") == nil, "base64, not base64url")
    }

    @Test func httpDatesParseAsTheDateFormatterDid() {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        let dates = [
            "Sun, 06 Nov 1994 08:49:37 GMT", "Fri, 15 Jan 2027 08:00:30 GMT", "Mon, 29 Feb 2028 23:59:59 GMT",
            "Thu, 01 Jan 1970 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT", "Sat, 1 Jan 2000 00:00:00 GMT",
            "sun, 06 nov 1994 08:49:37 gmt", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 06 Nov 1994 08:49:37 PST",
            "Sun, 06 Nov 1994 08:49:37 GMT+01:00", "Sun, 06 Nov 1994 08:49:37 GMT-0530",
            "Sun, 06 Nov 1994 08:49:37", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT", "Sun, 06 Nov 1994 24:00:00 GMT", "", "12", "Sun, 06 Nov 1994 08:49:37 GMT trailing",
        ]
        for text in dates {
            #expect(HTTPDate.parse(text) == formatter.date(from: text), "\(text)")
        }
    }

    @Test func compatibilityFoldingDecidesAsNFKCDid() throws {
        func verdict(_ folded: String) -> (separator: Bool, dots: Bool) {
            let base = folded.prefix { $0 != ";" }
            return (folded.contains("/") || folded.contains("\\"), base.isEmpty || base.allSatisfy { $0 == "." || $0 == " " })
        }
        var texts = Self.samples
        for (scalar, _) in CompatibilityFolding.table {
            let character = String(Character(try #require(Unicode.Scalar(scalar))))
            texts += [character, character + character, "a" + character + "b", "." + character, character + ";x"]
        }
        for text in texts {
            let ours = verdict(CompatibilityFolding.folded(text))
            let foundation = verdict(text.precomposedStringWithCompatibilityMapping)
            #expect(ours.separator == foundation.separator && ours.dots == foundation.dots, "\(Array(text.unicodeScalars))")
        }
    }

    @Test func isoTimesMatchISO8601DateFormatter() throws {
        let plain = ISO8601DateFormatter()
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let times: [Double] = [0, 1_700_000_000.123, 1_800_000_000.9999, 1_800_000_000.4995, 253_402_300_799, -86_400.5, 951_782_400]
        for seconds in times {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(JSONTime.string(date) == plain.string(from: date), "\(seconds)")
            #expect(AuditTime.string(date) == fractional.string(from: date), "\(seconds)")
            let written = fractional.string(from: date)
            let read = try #require(AuditTime.date(written), "\(written)")
            #expect(abs(read.timeIntervalSince(fractional.date(from: written)!)) < 1e-6, "\(written)")
        }
        for text in [
            "2026-12-01T02:04:58Z", "2026-12-01T02:04:58+02:00", "2026-12-01T02:04:58-05:30", "2026-12-01T02:04:58.5Z",
            "2026-12-01 02:04:58Z", "2026-12-01T02:04:58", "2026-02-30T00:00:00Z", "2026-12-01T24:00:00Z", "2026-12-01T02:04Z", "",
        ] {
            #expect(InternetTime.date(text) == plain.date(from: text), "\(text)")
        }
    }
}
