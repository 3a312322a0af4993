import NIOConcurrencyHelpers

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Runs a configured program for each sign-in event, with the event as one JSON object on stdin
/// and its name in `DEVICEGATE_EVENT`: the escape hatch for any channel devicegate has no
/// notifier for (a mail script, `notify-send`, a Matrix client).
///
/// The program runs directly, never through a shell, so nothing in an event can inject a
/// command. A program that hangs is stopped after `timeout` seconds, and one that fails (a
/// non-zero exit) is reported with the last line it wrote to stderr.
public struct CommandNotifier: SignInNotifier {
    public let name = "command"
    public let program: String
    public let arguments: [String]
    public let timeout: Double

    public init(program: String, arguments: [String] = [], timeout: Double = 30) {
        self.program = program
        self.arguments = arguments
        self.timeout = timeout
    }

    public init(settings: CommandSettings) {
        self.init(program: settings.program, arguments: settings.arguments, timeout: Double(settings.timeout))
    }

    public func notify(_ event: SignInEvent) async throws {
        guard let line = JSONLinesNotifier.line(for: event) else { return }
        let eventName = WebhookNotifier.eventName(line)
        let outcome = try await Self.run(
            executable: try Self.resolve(program), arguments: arguments, stdin: line + "\n",
            extraEnvironment: ["DEVICEGATE_EVENT": eventName],
            timeout: timeout)
        if outcome.timedOut {
            let seconds = timeout == timeout.rounded() ? String(Int(timeout)) : String(printf: "%.1f", timeout)
            throw CommandNotifierError(message: "\(program) did not finish within \(seconds) s and was stopped")
        }
        guard outcome.status == 0 else {
            let last = outcome.stderr.split(separator: "\n").last.map { ": " + $0.prefix(300) } ?? ""
            throw CommandNotifierError(message: "\(program) exited with status \(outcome.status)\(last)")
        }
    }

    /// A bare name is looked up in `PATH`, as a shell would.
    static func resolve(_ program: String) throws -> String {
        if program.contains("/") { return program }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(program)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw CommandNotifierError(message: "cannot find the program \(program) in PATH")
    }

    struct Outcome: Sendable {
        var status: Int32
        var stderr: String
        var timedOut: Bool
    }

    static func run(executable: String, arguments: [String], stdin: String, extraEnvironment: [String: String], timeout: Double)
        async throws -> Outcome
    {
        // stdin and stderr are private temporary files, not pipes: a program that never reads
        // its input cannot block us or kill us with SIGPIPE, and one that writes a lot to
        // stderr cannot fill a pipe and hang.
        let base = FileManager.default.temporaryDirectory.path + "/devicegate-command-\(UUID().uuidString)"
        let (inputFile, errorFile) = (base + ".stdin", base + ".stderr")
        let input = open(inputFile, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        let error = open(errorFile, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        let null = open("/dev/null", O_WRONLY | O_CLOEXEC)
        defer {
            for fd in [input, error, null] where fd >= 0 { close(fd) }
            unlink(inputFile)
            unlink(errorFile)
        }
        let bytes = Array(stdin.utf8)
        guard input >= 0, error >= 0, null >= 0, write(input, bytes, bytes.count) == bytes.count, lseek(input, 0, SEEK_SET) == 0 else {
            throw CommandNotifierError(message: "cannot create temporary files for \(executable)")
        }
        let child: ChildProcess.Launched
        do {
            child = try ChildProcess(command: [executable] + arguments, environment: extraEnvironment)
                .launch(input: input, output: null, error: error)
        } catch let failure as ChildProcess.SpawnError {
            throw CommandNotifierError(message: "cannot run \(executable): \(String(cString: strerror(failure.errno)))")
        }
        let stopped = NIOLockedValueBox(false)
        let timer = Task {
            guard (try? await Task.sleep(nanoseconds: UInt64(timeout * 1_000_000_000))) != nil else { return }
            guard child.signal(SIGTERM) else { return }
            stopped.withLockedValue { $0 = true }
            // A program started while SIGTERM is ignored (as `login` does, to handle it
            // itself) inherits that; a second later it gets SIGKILL.
            guard (try? await Task.sleep(nanoseconds: 1_000_000_000)) != nil else { return }
            child.signal(SIGKILL)
        }
        let termination = await child.termination()
        timer.cancel()
        // As Foundation's Process reported it: the exit status, or the number of the signal.
        let status: Int32
        switch termination {
        case .exited(let code): status = code
        case .signaled(let signal): status = signal
        }
        let stderr = FileManager.default.contents(atPath: errorFile).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return Outcome(status: status, stderr: stderr, timedOut: stopped.withLockedValue { $0 })
    }
}

/// A command notifier that could not run its program or saw it fail.
public struct CommandNotifierError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
