import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

/// Damaged config files, through the real binary: each ends in exit 78 and a message that names
/// the line, never in an abort (exit 134) or in a config read only in part.
@Suite struct ConfigFileTests {
    /// `[` then a line break aborted devicegate inside the TOML parser TOMLKit bundled.
    @Test func aHeaderBrokenAcrossLinesExits78NamingTheLine() throws {
        let box = Sandbox(idp: try LocalIdP.load(), config: "[\ngateway]\n")
        defer { box.remove() }
        for command in ["status", "skill", "token"] {
            let result = try box.run(command)
            #expect(result.status == 78, "\(command): \(result.stderr)")
            #expect(result.stderr.contains("config.toml:1: not valid TOML (column 2): expected a key in a table header"), "\(command)")
        }
        // doctor reports every check; a config it cannot read is exit 78, as everywhere, and names the line.
        let doctor = try box.run("doctor")
        #expect(doctor.status == 78)
        #expect(doctor.stdout.contains("✗ config: \(box.dir.file("config.toml")):1: not valid TOML"))
    }

    /// The example config, damaged where TOMLKit aborted (after a `[`), where it silently stopped
    /// reading (a NUL byte) and where it named no line (bytes that are not UTF-8).
    @Test func damagedExampleConfigsExit78NamingTheLine() throws {
        let example = try Data(contentsOf: LocalIdP.repository.appendingPathComponent("deploy/config.example.toml"))
        let text = String(decoding: example, as: UTF8.self)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let header = lines.firstIndex(of: "[gateway.agents]"), let upstream = lines.firstIndex(where: { $0.hasPrefix("upstream") })
        else {
            Issue.record("the example config changed")
            return
        }
        var cases: [(bytes: Data, line: Int)] = []
        for replacement in ["\n", ".", "!", "="] {
            var damaged = lines
            damaged[header] = "[" + replacement + "gateway.agents]"
            cases.append((Data(damaged.joined(separator: "\n").utf8), header + 1))
        }
        var truncated = lines
        truncated[upstream] = "\0" + truncated[upstream]
        cases.append((Data(truncated.joined(separator: "\n").utf8), upstream + 1))
        var notUTF8 = Data(lines[..<upstream].joined(separator: "\n").utf8)
        notUTF8.append(contentsOf: [0x0A, 0xFF, 0xFE])
        notUTF8.append(Data(lines[upstream...].joined(separator: "\n").utf8))
        cases.append((notUTF8, upstream + 1))

        let box = Sandbox(idp: try LocalIdP.load())
        defer { box.remove() }
        for (bytes, line) in cases {
            try bytes.write(to: URL(fileURLWithPath: box.dir.file("config.toml")))
            let result = try box.run("status")
            #expect(result.status == 78, "\(result.stderr)")
            #expect(result.stderr.contains("config.toml:\(line): not valid TOML"), "\(result.stderr)")
        }
    }
}
