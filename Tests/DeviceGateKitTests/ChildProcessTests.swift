import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

/// The process runner behind `devicegate exec`, with real child processes.
@Suite(.serialized) struct ChildProcessTests {
    @Test func secretsAndVariablesReachTheChildOverItsOwnEnvironment() async throws {
        let dir = TemporaryDirectory("childprocess")
        defer { dir.remove() }
        let out = dir.file("env")
        let child = ChildProcess(
            command: ["sh", "-c", #"printf '%s|%s|%s' "$SECRET_ONE" "$PLAIN" "${HOME:+home}" > "$1""#, "sh", out],
            environment: ["PLAIN": "visible"], secrets: ["SECRET_ONE": Secret("s3cr3t")])
        #expect(try await child.run() == .exited(0))
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "s3cr3t|visible|home", "secret, extra variable, inherited HOME")
    }

    @Test func exitStatusesAndSignalDeaths() async throws {
        #expect(try await ChildProcess(command: ["sh", "-c", "exit 0"]).run().exitCode == 0)
        #expect(try await ChildProcess(command: ["sh", "-c", "exit 201"]).run() == .exited(201))
        let killed = try await ChildProcess(command: ["sh", "-c", "kill -KILL $$"]).run()
        #expect(killed == .signaled(SIGKILL))
        #expect(killed.exitCode == 137)
    }

    @Test func aMissingCommandIsASpawnErrorLikeTheShells() async throws {
        do {
            _ = try await ChildProcess(command: ["devicegate-test-no-such-program"]).run()
            Issue.record("a missing program started")
        } catch let error as ChildProcess.SpawnError {
            #expect(error.exitCode == 127)
            #expect(error.description == "devicegate-test-no-such-program: command not found")
        }
        let dir = TemporaryDirectory("childprocess")
        defer { dir.remove() }
        let notExecutable = dir.write("script", "echo hi\n")
        do {
            _ = try await ChildProcess(command: [notExecutable]).run()
            Issue.record("a non-executable file started")
        } catch let error as ChildProcess.SpawnError {
            #expect(error.exitCode == 126)
        }
    }

    @Test func oneChildAtATime() async throws {
        let dir = TemporaryDirectory("childprocess")
        defer { dir.remove() }
        let (started, go) = (dir.file("started"), dir.file("go"))
        // The first child says it runs, then waits for a file the test writes after trying a second.
        let first = Task {
            try await ChildProcess(command: ["sh", "-c", #"touch "$1"; while [ ! -e "$2" ]; do sleep 0.05; done"#, "sh", started, go])
                .run()
        }
        while !FileManager.default.fileExists(atPath: started) { try await Task.sleep(for: .milliseconds(20)) }
        var refused: ChildProcess.SpawnError?
        do { _ = try await ChildProcess(command: ["true"]).run() } catch let error as ChildProcess.SpawnError { refused = error }
        _ = FileManager.default.createFile(atPath: go, contents: nil)
        #expect(refused?.errno == EBUSY)
        #expect(try await first.value == .exited(0))
        #expect(try await ChildProcess(command: ["true"]).run() == .exited(0), "free again once the first has ended")
    }

    @Test func aSecretNeverRendersInTheRunnersDescription() {
        let child = ChildProcess(command: ["true"], secrets: ["ACCESS_TOKEN": Secret("tok-123")])
        #expect(!String(describing: child).contains("tok-123"))
        #expect(!String(reflecting: child).contains("tok-123"))
    }
}
