import DeviceGateTestSupport
import Foundation
import Testing

@testable import DeviceGateKit

/// The audit log's hand-written JSON: whatever a value holds, the line is one line of JSON that
/// reads back as exactly what was recorded.
@Suite struct AuditLineTests {
    /// Characters that need escaping, mixed with plain text and multi-byte scalars.
    static let alphabet: [Character] = [
        "a", "Z", "0", "/", " ", "\"", "\\", "\n", "\r", "\t", "\u{0}", "\u{1}", "\u{1F}", "\u{7F}", "\u{80}", "\u{9F}", "é", "→",
        "😀", "\u{2028}",
    ]

    @Test func everyStringReadsBackExactlyFromOneLine() throws {
        var rng = SeededGenerator(state: 2_026_113_001)
        for _ in 0..<2_000 {
            let count = Int.random(in: 0...24, using: &rng)
            let value = String((0..<count).map { _ in Self.alphabet.randomElement(using: &rng)! })
            let line = AuditLine.json(["path": .string(value), "n": .int(count)])
            #expect(!line.contains("\n") && !line.contains("\r"), "one line: \(line.debugDescription)")
            let decoded = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(decoded["path"] as? String == value, "\(value.debugDescription) came back as \(line)")
        }
    }
}
