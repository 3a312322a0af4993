import Foundation

/// Reads a SKILL.md the way the skill loaders do: the frontmatter through a real YAML parser
/// (PyYAML, which `scripts/install-deps` installs) and through OpenClaw's single-line fallback
/// rules, and `metadata` as JSON.
public struct SkillFile {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    /// The frontmatter as YAML parsed it (values are JSON-compatible).
    public let yaml: [String: Any]
    /// The frontmatter as `key: value` lines, as the single-line fallback parser sees it.
    public let lines: [String: String]
    /// `metadata` parsed as JSON from its one line.
    public let metadata: [String: Any]
    public let body: String

    public var name: String? { yaml["name"] as? String }
    public var description: String? { yaml["description"] as? String }
    /// `metadata.openclaw.requires`.
    public var requires: [String: [String]] {
        let openclaw = metadata["openclaw"] as? [String: Any]
        let requires = openclaw?["requires"] as? [String: Any] ?? [:]
        return requires.compactMapValues { $0 as? [String] }
    }

    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { throw Failure("cannot read \(path)") }
        try self.init(text: String(decoding: data, as: UTF8.self))
    }

    public init(text: String) throws {
        let all = text.components(separatedBy: "\n")
        guard all.first == "---", let end = all.dropFirst().firstIndex(of: "---") else {
            throw Failure("no frontmatter: the file must start with a line `---` and close it with another")
        }
        let front = Array(all[1..<end])
        body = all[(end + 1)...].joined(separator: "\n")

        var lines: [String: String] = [:]
        for line in front {
            guard let colon = line.range(of: ": "), !line.hasPrefix(" "),
                line[..<colon.lowerBound].allSatisfy({ $0.isLetter || $0 == "-" })
            else { throw Failure("frontmatter line is not a single-line `key: value`: \(line)") }
            lines[String(line[..<colon.lowerBound])] = String(line[colon.upperBound...])
        }
        self.lines = lines

        guard let metadataLine = lines["metadata"],
            let metadata = try? JSONSerialization.jsonObject(with: Data(metadataLine.utf8)) as? [String: Any]
        else { throw Failure("metadata is not one line of JSON: \(lines["metadata"] ?? "(missing)")") }
        self.metadata = metadata

        yaml = try Self.parseYAML(front.joined(separator: "\n"))
    }

    /// PyYAML's `safe_load`, answered as JSON.
    static func parseYAML(_ text: String) throws -> [String: Any] {
        let python = try pythonWithYAML()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", "import json, sys, yaml; print(json.dumps(yaml.safe_load(sys.stdin.read())))"]
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let problem = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0, let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw Failure("the frontmatter is not a YAML mapping: \(problem)")
        }
        return object
    }

    /// The first python3 that can import yaml; none is a failure, not a skip.
    static func pythonWithYAML() throws -> String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        let candidates = path.split(separator: ":").map { "\($0)/python3" } + ["/usr/bin/python3"]
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: candidate)
            process.arguments = ["-c", "import yaml"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            if (try? process.run()) != nil {
                process.waitUntilExit()
                if process.terminationStatus == 0 { return candidate }
            }
        }
        throw Failure("no python3 with PyYAML on PATH: run scripts/install-deps (it installs python3-yaml)")
    }
}
