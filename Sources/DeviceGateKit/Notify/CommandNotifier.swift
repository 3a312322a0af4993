import Foundation

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
            let seconds = timeout == timeout.rounded() ? String(Int(timeout)) : String(format: "%.1f", timeout)
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

    /// `Process` is not Sendable; this box only hands it to the timeout task, which only calls
    /// the thread-safe `terminate()`.
    final class ProcessBox: @unchecked Sendable {
        let process: Process
        private let lock = NSLock()
        private var stopped = false
        private var timer: Task<Void, Never>?

        init(_ process: Process) { self.process = process }

        func startTimer(seconds: Double) {
            let task = Task { [self] in
                guard (try? await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))) != nil else { return }
                lock.withLock { stopped = process.isRunning }
                guard process.isRunning else { return }
                process.terminate()
                // A program started while SIGTERM is ignored (as `login` does, to handle it
                // itself) inherits that; a second later it gets SIGKILL.
                guard (try? await Task.sleep(nanoseconds: 1_000_000_000)) != nil else { return }
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            }
            lock.withLock { timer = task }
        }

        /// Cancels the timer; true if it had to stop the program.
        func finish() -> Bool {
            lock.withLock {
                timer?.cancel()
                return stopped
            }
        }
    }

    static func run(executable: String, arguments: [String], stdin: String, extraEnvironment: [String: String], timeout: Double)
        async throws -> Outcome
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(extraEnvironment) { _, new in new }
        // stdin and stderr are private temporary files, not pipes: a program that never reads
        // its input cannot block us or kill us with SIGPIPE, and one that writes a lot to
        // stderr cannot fill a pipe and hang.
        let base = NSTemporaryDirectory() + "devicegate-command-\(UUID().uuidString)"
        let (inputFile, errorFile) = (base + ".stdin", base + ".stderr")
        let created =
            FileManager.default.createFile(atPath: inputFile, contents: Data(stdin.utf8), attributes: [.posixPermissions: 0o600])
            && FileManager.default.createFile(atPath: errorFile, contents: nil, attributes: [.posixPermissions: 0o600])
        defer {
            try? FileManager.default.removeItem(atPath: inputFile)
            try? FileManager.default.removeItem(atPath: errorFile)
        }
        guard created, let inputHandle = FileHandle(forReadingAtPath: inputFile), let errorHandle = FileHandle(forWritingAtPath: errorFile)
        else {
            throw CommandNotifierError(message: "cannot create temporary files for \(executable)")
        }
        defer {
            try? inputHandle.close()
            try? errorHandle.close()
        }
        process.standardInput = inputHandle
        process.standardOutput = FileHandle.nullDevice
        process.standardError = errorHandle
        let box = ProcessBox(process)
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: CommandNotifierError(message: "cannot run \(executable): \(error.localizedDescription)"))
                return
            }
            box.startTimer(seconds: timeout)
        }
        let timedOut = box.finish()
        let stderr = FileManager.default.contents(atPath: errorFile).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return Outcome(status: status, stderr: stderr, timedOut: timedOut)
    }
}

/// A command notifier that could not run its program or saw it fail.
public struct CommandNotifierError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
