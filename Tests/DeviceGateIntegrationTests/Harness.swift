import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

/// The local Glewlwyd started by `scripts/idp/up` (which `scripts/test` runs first).
struct LocalIdP {
    let values: [String: String]
    var issuer: String { values["DEVICEGATE_IDP_ISSUER"]! }
    var shortIssuer: String { values["DEVICEGATE_IDP_SHORT_ISSUER"]! }
    var publicClient: String { values["DEVICEGATE_IDP_PUBLIC_CLIENT"]! }

    static let repository: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func load() throws -> LocalIdP {
        let path = ProcessInfo.processInfo.environment["DEVICEGATE_IDP_ENV"] ?? repository.appendingPathComponent(".idp/env").path
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw Failure("no local identity provider: \(path) is missing. Run scripts/test (or scripts/idp/up first).")
        }
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            if parts.count == 2 { values[parts[0]] = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "'\"")) }
        }
        return LocalIdP(values: values)
    }

    /// Runs one of `scripts/idp/*`, feeding `stdin` (tokens never go on a command line).
    func script(_ name: String, _ arguments: [String] = [], stdin: String? = nil) throws -> ProcessResult {
        try ProcessResult.run(Self.repository.appendingPathComponent("scripts/idp/\(name)").path, arguments, stdin: stdin)
    }

    /// Glewlwyd now and then refuses the test user's password login (401) while several suites
    /// sign in at once; a person would simply try again, and so does this.
    func approve(_ userCode: String, plugin: String = "oidc") throws {
        var result = try script("approve", [userCode, "--plugin", plugin])
        for _ in 0..<3 where result.status != 0 && !result.stderr.contains("deviceCodeError") {
            Thread.sleep(forTimeInterval: 0.5)
            result = try script("approve", [userCode, "--plugin", plugin])
        }
        guard result.status == 0 else { throw Failure("approve failed: \(result.stderr)") }
    }

    /// RFC 7662 `active` for a token, asked of Glewlwyd.
    func isActive(_ token: Secret) throws -> Bool {
        let result = try script("introspect", stdin: token.reveal())
        guard result.status == 0 else { throw Failure("introspect failed: \(result.stderr)") }
        return result.stdout.contains(#""active":true"#)
    }
}

struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

struct ProcessResult: Sendable {
    let status: Int32
    let stdout: String
    let stderr: String

    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, stdin: String? = nil) throws
        -> ProcessResult
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        let out = Pipe(), err = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        let stderrData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ProcessResult(
            status: process.terminationStatus, stdout: String(decoding: stdoutData, as: UTF8.self),
            stderr: String(decoding: stderrData, as: UTF8.self))
    }
}

/// A private config and store for one test, and the real `devicegate` binary to run in it.
struct Sandbox {
    let dir = TemporaryDirectory("devicegate-it")
    let idp: LocalIdP
    /// More environment for every command (a shared store's URL and key).
    var extraEnvironment: [String: String] = [:]

    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["DEVICEGATE_BIN"] { return path }
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("devicegate").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        return LocalIdP.repository.appendingPathComponent(".build/debug/devicegate").path
    }

    init(idp: LocalIdP, config: String? = nil) {
        self.idp = idp
        _ = dir.write(
            "config.toml",
            config
                ?? """
                [profiles.work]
                provider = "oidc"
                issuer = "\(idp.issuer)"
                client_id = "\(idp.publicClient)"
                scopes = ["openid", "profile", "email", "mail.read"]

                [profiles.short]
                provider = "oidc"
                issuer = "\(idp.shortIssuer)"
                client_id = "\(idp.publicClient)"
                scopes = ["openid", "profile", "email"]
                """)
    }

    var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("DEVICEGATE") }
        env["DEVICEGATE_CONFIG"] = dir.file("config.toml")
        env["DEVICEGATE_DATA_DIR"] = dir.file("data")
        env.merge(extraEnvironment) { _, extra in extra }
        return env
    }

    func run(_ arguments: String...) throws -> ProcessResult {
        try ProcessResult.run(Self.binary, arguments, environment: environment)
    }

    func store() throws -> TokenStore { try TokenStore(directory: dir.file("data"), keyFile: nil) }

    /// Starts `devicegate login … --json`, hands the user code from its first event to
    /// `person`, and waits for it to end.
    func login(_ profile: String, _ extra: [String] = [], person: @Sendable (String) throws -> Void) throws -> (
        result: ProcessResult, events: [[String: Any]]
    ) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["login", profile, "--json"] + extra
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        var buffer = Data()
        var userCode: String?
        while userCode == nil {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
            for line in String(decoding: buffer, as: UTF8.self).split(separator: "\n") {
                if let event = Self.json(String(line)), event["event"] as? String == "device_code" {
                    userCode = event["user_code"] as? String
                }
            }
        }
        if let userCode { try person(userCode) }
        buffer.append(out.fileHandleForReading.readDataToEndOfFile())
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let stdout = String(decoding: buffer, as: UTF8.self)
        return (
            ProcessResult(status: process.terminationStatus, stdout: stdout, stderr: String(decoding: stderr, as: UTF8.self)),
            stdout.split(separator: "\n").compactMap { Self.json(String($0)) }
        )
    }

    static func json(_ line: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
    }

    func remove() { dir.remove() }
}
