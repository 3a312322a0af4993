import Dispatch
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

/// Runs one program the way a shell would, with secrets added to its environment: the token
/// reaches the program through `envp` only, never through `argv`, where `ps` and
/// `/proc/PID/cmdline` would show it to every user of the machine.
///
/// The child inherits devicegate's standard input, output and error (no pipes, so terminals,
/// prompts and binary output work unchanged), and no other descriptor. SIGINT, SIGTERM, SIGHUP and SIGQUIT sent to
/// devicegate are passed on, so `docker stop` or a supervisor reaches the real program; signals
/// the terminal already sent to the whole foreground process group (Ctrl-C) are not sent a
/// second time. The result is the child's exit status, or 128+N when signal N ended it, as a
/// shell reports it.
///
/// One child runs at a time per process: signal dispositions are process-wide, so the
/// forwarding state is too. A second `run()` while one is under way fails with `EBUSY`.
public struct ChildProcess: Sendable {
    /// How the child ended.
    public enum Termination: Sendable, Equatable {
        case exited(Int32)
        case signaled(Int32)

        /// The status to exit with: the child's own, or 128+N for death by signal N.
        public var exitCode: Int32 {
            switch self {
            case .exited(let code): code
            case .signaled(let signal): 128 + signal
            }
        }
    }

    /// The program could not be started at all.
    public struct SpawnError: Error, Sendable, CustomStringConvertible {
        public let command: String
        public let errno: Int32

        /// 127 when the command was not found, 126 when it was found but cannot run, as in sh.
        public var exitCode: Int32 { errno == ENOENT ? 127 : 126 }

        public var description: String {
            errno == ENOENT ? "\(command): command not found" : "\(command): cannot run: \(String(cString: strerror(errno)))"
        }
    }

    /// The signals passed on to the child.
    public static let forwardedSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP, SIGQUIT]

    /// The program (looked up in PATH unless it contains a slash) and its arguments.
    public var command: [String]
    /// Variables to set on top of devicegate's own environment, in clear text.
    public var environment: [String: String]
    /// Variables holding secrets; revealed only into the child's environment block.
    public var secrets: [String: Secret]
    /// Variables of devicegate's own environment the child must not inherit: the ones holding
    /// devicegate's secrets (``ChildEnvironment/withheldVariables(of:)``).
    public var withheld: Set<String>

    public init(
        command: [String], environment: [String: String] = [:], secrets: [String: Secret] = [:], withheld: Set<String> = []
    ) {
        precondition(!command.isEmpty, "a command needs at least a program name")
        self.command = command
        self.environment = environment
        self.secrets = secrets
        self.withheld = withheld
    }

    /// Starts the child, forwards signals to it until it ends, and returns how it ended.
    /// Waiting happens on a thread of its own, not on the concurrency pool.
    public func run() async throws -> Termination {
        guard Self.running.claim() else { throw SpawnError(command: command[0], errno: EBUSY) }
        // Handlers go in before the child exists so no signal is lost in between; one that
        // arrives before the pid is known is delivered right after.
        Self.startForwarding()
        let pid: pid_t
        do {
            pid = try Self.spawn(command, environment: environmentBlock())
        } catch {
            Self.stopForwarding()
            Self.running.release()
            throw error
        }
        forwardingTarget = pid
        let pending = pendingSignal
        if pending != 0 { kill(pid, pending) }
        let termination = await Self.reaped(pid)
        Self.stopForwarding()
        Self.running.release()
        return termination
    }

    /// Starts the child for devicegate's own use (the command notifier): its standard streams
    /// connected to the given descriptors (nil: inherited), no signals forwarded, and any number
    /// at a time.
    func launch(input: Int32? = nil, output: Int32? = nil, error: Int32? = nil) throws -> Launched {
        Launched(pid: try Self.spawn(command, environment: environmentBlock(), streams: [input, output, error]))
    }

    /// The environment block for the child: devicegate's own less the withheld variables, then
    /// `environment`, then the secrets, each later one winning.
    func environmentBlock(base: [String: String] = ProcessInfo.processInfo.environment) -> [String] {
        var merged = base.filter { !withheld.contains($0.key) }
        for (name, value) in environment { merged[name] = value }
        for (name, secret) in secrets { merged[name] = secret.reveal() }
        return merged.map { "\($0.key)=\($0.value)" }
    }

    /// The one place devicegate starts a program: `posix_spawnp` (looked up in PATH unless the
    /// name contains a slash), a clean signal mask and default dispositions, stdin, stdout and
    /// stderr from `streams` where given, and no other descriptor.
    private static func spawn(_ command: [String], environment: [String], streams: [Int32?] = [nil, nil, nil]) throws -> pid_t {
        let argv = command.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }

        #if canImport(Darwin)
            var attributes: posix_spawnattr_t?
        #else
            var attributes = posix_spawnattr_t()
        #endif
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The calling thread may block signals (concurrency and Dispatch threads do), and
        // devicegate's own dispositions must not leak into the child: start it clean.
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signo in Self.forwardedSignals + [SIGPIPE] { sigaddset(&defaults, signo) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        // Only the standard streams reach the child, as sudo does it: a descriptor devicegate
        // opened, or was handed, without close-on-exec (a socket to the identity provider, a lock
        // file) is none of the command's business.
        #if canImport(Darwin)
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_CLOEXEC_DEFAULT))
            var actions: posix_spawn_file_actions_t?
        #else
            posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
            var actions = posix_spawn_file_actions_t()
        #endif
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (target, source) in streams.enumerated() {
            if let source { posix_spawn_file_actions_adddup2(&actions, source, Int32(target)) }
        }
        #if !canImport(Darwin)
            _ = closeFrom?(&actions, 3)
        #endif

        var pid: pid_t = 0
        let result = posix_spawnp(&pid, command[0], &actions, &attributes, argv, envp)
        guard result == 0 else { throw SpawnError(command: command[0], errno: result) }
        return pid
    }

    /// Waits for the child on a thread of its own (not the concurrency pool's) and reaps it.
    /// `beforeReaping` runs once the child has ended but while its pid is still taken, so that
    /// nobody can signal a recycled pid.
    static func reaped(_ pid: pid_t, beforeReaping: @escaping @Sendable () -> Void = {}) async -> Termination {
        await withCheckedContinuation { continuation in
            DispatchQueue(label: "devicegate.child-wait").async {
                var info = siginfo_t()
                while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) == -1 && errno == EINTR {}
                beforeReaping()
                var status: Int32 = 0
                var termination = Termination.exited(127)
                while true {
                    if waitpid(pid, &status, 0) != -1 {
                        // The WIFEXITED family are C macros Swift does not import; this is their definition.
                        let signal = status & 0x7f
                        termination = signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
                        break
                    }
                    if errno != EINTR { break }
                }
                continuation.resume(returning: termination)
            }
        }
    }

    private static func startForwarding() {
        forwardingTarget = 0
        pendingSignal = 0
        var action = sigaction()
        #if canImport(Darwin)
            action.__sigaction_u.__sa_sigaction = forwardSignal
        #else
            action.__sigaction_handler.sa_sigaction = forwardSignal
        #endif
        action.sa_flags = SA_SIGINFO | SA_RESTART
        sigemptyset(&action.sa_mask)
        for signo in forwardedSignals {
            var previous = sigaction()
            sigaction(signo, &action, &previous)
            previousActions[signo] = previous
        }
    }

    private static func stopForwarding() {
        for (signo, previous) in previousActions {
            var action = previous
            sigaction(signo, &action, nil)
        }
        previousActions = [:]
        forwardingTarget = 0
    }
}

extension ChildProcess {
    /// Whether a child is running in this process.
    final class Flag: Sendable {
        private let set = NIOLockedValueBox(false)

        func claim() -> Bool {
            set.withLockedValue { set in
                if set { return false }
                set = true
                return true
            }
        }
        func release() { set.withLockedValue { $0 = false } }
    }

    /// A child started by ``launch(input:output:error:)``.
    final class Launched: Sendable {
        let pid: pid_t
        private let ended = NIOLockedValueBox(false)

        init(pid: pid_t) { self.pid = pid }

        /// Sends `signal` unless the child has ended; true if it was sent.
        @discardableResult func signal(_ signal: Int32) -> Bool {
            ended.withLockedValue { ended in
                if ended { return false }
                kill(pid, signal)
                return true
            }
        }

        /// How the child ended, once it has.
        func termination() async -> Termination {
            await ChildProcess.reaped(pid) { [ended] in ended.withLockedValue { $0 = true } }
        }
    }

    static let running = Flag()
}

// A signal handler can reach only global state. These are written by the one thread running a
// child (before the handlers go in and right after the spawn) and read by the handler; a single
// aligned 32-bit load or store is atomic on every platform Swift runs on, which is all
// `sig_atomic_t` promises in C.
nonisolated(unsafe) private var forwardingTarget: pid_t = 0
nonisolated(unsafe) private var pendingSignal: Int32 = 0
nonisolated(unsafe) private var previousActions: [Int32: sigaction] = [:]

#if !canImport(Darwin)
    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), which the Glibc module
    /// does not import: looked up once, by name.
    private typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private let closeFrom: CloseFrom? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np").map {
        unsafeBitCast($0, to: CloseFrom.self)
    }
#endif

/// Async-signal-safe: reads two globals and calls kill(2).
private func forwardSignal(_ signo: Int32, _ info: UnsafeMutablePointer<siginfo_t>?, _ context: UnsafeMutableRawPointer?) {
    #if os(Linux)
        // SI_KERNEL: the terminal (Ctrl-C, Ctrl-\, hang-up) signalled the whole foreground
        // process group, the child included; sending it again would make it a double press.
        if let info, info.pointee.si_code == 0x80 { return }
    #endif
    let target = forwardingTarget
    if target > 0 {
        kill(target, signo)
    } else {
        pendingSignal = signo
    }
}
