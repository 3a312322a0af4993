import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

/// At home in a shell: help that fits an 80-column terminal, completion scripts, and profile
/// names completed from the config.
@Suite struct ShellTests {
    /// Every command path, from the binary's own description of itself.
    static func commandPaths() throws -> [[String]] {
        let dump = try ProcessResult.run(Sandbox.binary, ["--experimental-dump-help"])
        try #require(dump.status == 0)
        let root = try #require(try JSONSerialization.jsonObject(with: Data(dump.stdout.utf8)) as? [String: Any])
        var paths: [[String]] = []
        func walk(_ command: [String: Any], _ path: [String]) {
            paths.append(path)
            for sub in command["subcommands"] as? [[String: Any]] ?? [] {
                if let name = sub["commandName"] as? String, name != "help" { walk(sub, path + [name]) }
            }
        }
        walk(try #require(root["command"] as? [String: Any]), [])
        return paths
    }

    static func help(_ path: [String], columns: Int) throws -> [String] {
        var environment = ProcessInfo.processInfo.environment
        environment["COLUMNS"] = String(columns)
        let result = try ProcessResult.run(Sandbox.binary, path + ["--help"], environment: environment)
        try #require(result.status == 0, "\(path): \(result.stderr)")
        return result.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    @Test func everyHelpFitsEightyColumnsAndNoExampleWraps() throws {
        let paths = try Self.commandPaths()
        #expect(paths.count > 10, "the command tree was read")
        for path in paths {
            let narrow = try Self.help(path, columns: 80)
            for line in narrow where line.count > 80 {
                Issue.record("devicegate \(path.joined(separator: " ")) --help: \(line.count) columns: \(line)")
            }
            // Examples, config snippets and tables are indented; each must come out whole, as it
            // does on a terminal wide enough for anything.
            let wide = try Self.help(path, columns: 1000)
            let body = wide.prefix { !$0.hasPrefix("USAGE:") }
            for line in body where line.hasPrefix("  ") && !narrow.contains(line) {
                Issue.record("devicegate \(path.joined(separator: " ")) --help: wrapped at 80 columns: \(line)")
            }
            // The usage is wrapped, not cut: every option the help lists is in it.
            let usage = narrow.drop { !$0.hasPrefix("USAGE:") }.prefix { !$0.isEmpty }.joined(separator: " ")
            for line in narrow where line.hasPrefix("  --") {
                let option = String(line.dropFirst(2).prefix { $0 != " " })
                if option != "--version", option != "--help" {
                    #expect(usage.contains(option), "devicegate \(path.joined(separator: " ")): \(option) is missing from \(usage)")
                }
            }
        }
    }

    @Test func aLongUsageLineIsWrappedAtWholeOptions() throws {
        let lines = try Self.help(["exec"], columns: 80)
        let usage = Array(lines.drop { !$0.hasPrefix("USAGE:") }.prefix { !$0.isEmpty })
        #expect(usage.count >= 2, "\(usage)")
        #expect(usage.dropFirst().allSatisfy { $0.hasPrefix("       ") && !$0.hasPrefix("        ") }, "\(usage)")
        let joined = usage.map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
        #expect(
            joined
                == "USAGE: devicegate exec [--config <path>] [--data-dir <dir>] [<profile>] [--env <name> ...] [--min-ttl <seconds>] -- [<command> ...]"
        )
        // A usage error shows the same wrapped usage on stderr, and exits 64.
        var environment = ProcessInfo.processInfo.environment
        environment["COLUMNS"] = "80"
        let error = try ProcessResult.run(Sandbox.binary, ["exec", "--min-ttl", "x"], environment: environment)
        #expect(error.status == 64)
        #expect(error.stderr.split(separator: "\n").allSatisfy { $0.count <= 80 }, "\(error.stderr)")
    }

    @Test(arguments: ["bash", "zsh", "fish"])
    func completionScriptsAskTheBinaryForProfileNames(shell: String) throws {
        let result = try ProcessResult.run(Sandbox.binary, ["--generate-completion-script", shell])
        #expect(result.status == 0)
        #expect(result.stdout.contains("---completion token -- positional@0"), "token's profile completes through the binary")
        #expect(result.stdout.contains("---completion exec -- positional@0"))
    }

    @Test func profileNamesCompleteFromTheConfigAndNothingFailsLoudly() throws {
        let box = Sandbox(
            idp: LocalIdP(values: [:]),
            config: """
                [profiles.work]
                provider = "github"
                client_id = "c"

                [profiles.web]
                provider = "github"
                client_id = "c"

                [profiles.other]
                provider = "github"
                client_id = "c"
                """)
        defer { box.remove() }
        func complete(_ words: [String], environment: [String: String]) throws -> ProcessResult {
            let current = words.last ?? ""
            return try ProcessResult.run(
                Sandbox.binary, ["---completion", "token", "--", "positional@0", String(words.count - 1), String(current.count)] + words,
                environment: environment)
        }
        let all = try complete(["devicegate", "token", ""], environment: box.environment)
        #expect(all.status == 0 && all.stderr.isEmpty, "\(all.stderr)")
        #expect(all.stdout.split(separator: "\n") == ["other", "web", "work"])
        let w = try complete(["devicegate", "token", "w"], environment: box.environment)
        #expect(w.stdout.split(separator: "\n") == ["web", "work"])

        // --config on the command line wins over DEVICEGATE_CONFIG, as it does when the command runs.
        let other = box.dir.write("other.toml", "[profiles.elsewhere]\nprovider = \"github\"\nclient_id = \"c\"\n")
        let flagged = try complete(["devicegate", "token", "--config", "'\(other)'", ""], environment: box.environment)
        #expect(flagged.stdout.split(separator: "\n") == ["elsewhere"])

        // A broken or missing config completes nothing, quietly.
        var broken = box.environment
        broken["DEVICEGATE_CONFIG"] = box.dir.write("broken.toml", "[profiles.work\nprovider = ")
        for environment in [broken, box.environment.merging(["DEVICEGATE_CONFIG": box.dir.file("missing.toml")]) { $1 }] {
            let result = try complete(["devicegate", "token", ""], environment: environment)
            #expect(result.status == 0)
            #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
            #expect(result.stderr.isEmpty, "\(result.stderr)")
        }
    }
}
