import Foundation

/// The official Python MCP SDK as a client of devicegate: `Tests/MCPClient/mcp_driver.py` run in
/// the virtual environment `scripts/test` makes (`.build/mcp-venv`, `mcp==2.3.0`), steered one
/// JSON line at a time so a test can act between calls (approve a code, look at the upstream).
final class MCPDriver {
    let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private let errors = Pipe()
    private var buffer = Data()
    /// Every line the driver printed, to check that no secret crossed the protocol.
    private(set) var transcript = ""

    static var python: String {
        if let path = ProcessInfo.processInfo.environment["DEVICEGATE_MCP_PYTHON"] { return path }
        return LocalIdP.repository.appendingPathComponent(".build/mcp-venv/bin/python").path
    }

    static var script: String { LocalIdP.repository.appendingPathComponent("Tests/MCPClient/mcp_driver.py").path }

    /// - Parameter arguments: `stdio -- devicegate mcp …` or `http URL`, plus `--mode`.
    init(_ arguments: [String], environment: [String: String]) throws {
        guard FileManager.default.isExecutableFile(atPath: Self.python) else {
            throw Failure(
                "no Python with the MCP SDK at \(Self.python): run scripts/test, which makes .build/mcp-venv (or set DEVICEGATE_MCP_PYTHON)"
            )
        }
        process.executableURL = URL(fileURLWithPath: Self.python)
        process.arguments = [Self.script] + arguments
        process.environment = environment
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
    }

    /// The first line: the SDK connected (and which protocol revision it settled on).
    func connected() throws -> [String: Any] { try readLine() }

    func send(_ command: [String: Any]) throws -> [String: Any] {
        var line = try JSONSerialization.data(withJSONObject: command)
        line.append(UInt8(ascii: "\n"))
        input.fileHandleForWriting.write(line)
        return try readLine()
    }

    func call(_ tool: String, _ arguments: [String: Any] = [:]) throws -> [String: Any] {
        try send(["op": "call", "name": tool, "arguments": arguments])
    }

    /// `sign_in_status` once it is no longer pending (the person approved in the identity
    /// provider; devicegate's next poll picks it up), or after 30 s.
    func statusAfterApproval(_ profile: String) async throws -> [String: Any] {
        var status = try call("sign_in_status", ["profile": profile])
        for _ in 0..<60 where status.structured["state"] as? String == "pending" {
            try await Task.sleep(for: .milliseconds(500))
            status = try call("sign_in_status", ["profile": profile])
        }
        return status
    }

    /// Closes the session; returns what the driver (and the server it ran, on stdio) wrote to stderr.
    @discardableResult
    func finish() -> String {
        try? input.fileHandleForWriting.write(contentsOf: Data(#"{"op":"quit"}"#.utf8 + [UInt8(ascii: "\n")]))
        try? input.fileHandleForWriting.close()
        transcript += String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return stderr
    }

    private func readLine() throws -> [String: Any] {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                transcript += line + "\n"
                guard let object = Sandbox.json(line) else { throw Failure("the driver printed something else than JSON: \(line)") }
                if let error = object["driver_error"] { throw Failure("the MCP SDK failed: \(error); stderr: \(finish())") }
                return object
            }
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { throw Failure("the driver ended early; stderr: \(finish())") }
            buffer.append(chunk)
        }
    }
}

extension [String: Any] {
    var structured: [String: Any] { self["structured"] as? [String: Any] ?? [:] }
    var isError: Bool { self["is_error"] as? Bool ?? false }
    var text: String { self["text"] as? String ?? "" }
}
