import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

/// Random damage to a real config, as a careless edit or a hostile neighbour would do it: every
/// mutation must end in a config or a ``ConfigError``. A trap (an assertion in a parser, an
/// overflow, a stack overflow) would end this test process, so this test can fail.
@Suite struct ConfigMutationTests {
    static let exampleConfig = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("deploy/config.example.toml")

    /// SplitMix64 (the request-path invariant test's): the same seed gives the same mutations
    /// on every run, so a failure can be replayed.
    /// What TOML's grammar turns on: brackets, quotes, line ends, escapes, a NUL.
    static let fragments: [[UInt8]] = [
        "[", "]", "[[", "{", "}", "\"", "'", "\"\"\"", "'''", "=", ".", ",", "\n", "\r", "#", "\\", "\\u", "\0", "0x", "-", ":", " ",
    ].map {
        Array($0.utf8)
    }

    static func mutate(_ bytes: inout [UInt8], using rng: inout SeededGenerator) {
        let index = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
        switch Int.random(in: 0..<5, using: &rng) {
        case 0 where !bytes.isEmpty: bytes[index] ^= 1 << UInt8.random(in: 0..<8, using: &rng)
        case 1: bytes.insert(UInt8.random(in: 0...255, using: &rng), at: index)
        case 2: bytes.insert(contentsOf: fragments[Int.random(in: 0..<fragments.count, using: &rng)], at: index)
        case 3 where !bytes.isEmpty: bytes.remove(at: index)
        default: bytes.removeSubrange(index...)
        }
    }

    @Test func twoThousandMutationsOfTheExampleConfigEndInAConfigOrAConfigError() throws {
        let original = [UInt8](try Data(contentsOf: Self.exampleConfig))
        let loader = ConfigLoader(environment: [:])
        var rng = SeededGenerator(state: 15)
        var loaded = 0
        var refusedAsTOML = 0
        for round in 0..<2000 {
            var bytes = original
            for _ in 0..<Int.random(in: 1...4, using: &rng) { Self.mutate(&bytes, using: &rng) }
            do {
                _ = try loader.parse(bytes: bytes, path: "config.toml")
                loaded += 1
            } catch let error as ConfigError {
                guard error.message.hasPrefix("not valid TOML") else { continue }
                refusedAsTOML += 1
                let lines = bytes.filter { $0 == 0x0A }.count + 1
                #expect(error.line.map { (1...lines).contains($0) } == true, "round \(round): \(error)")
            } catch {
                Issue.record("round \(round): not a ConfigError: \(error)")
            }
        }
        // Both outcomes occur, so the mutations reach the parser's error paths and its success path.
        #expect(loaded > 100 && refusedAsTOML > 500, "loaded \(loaded), refused as TOML \(refusedAsTOML)")
    }
}
