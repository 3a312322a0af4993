import ArgumentParser
import DeviceGateKit
import Dispatch

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

/// The documented exit codes.
enum Exit {
    static let failed: Int32 = 1
    static let signInFailed: Int32 = 2
    static let signInNeeded: Int32 = 3
    /// EX_NOPERM: a raw token refused (frozen, token_access deny, approval not given).
    static let notPermitted: Int32 = 77
    static let configuration: Int32 = 78
    static let interrupted: Int32 = 130
}

/// Runs a command body, turning every error into one plain line on stderr and its exit code.
/// Errors are rendered with `description`, which no type carrying a ``Secret`` can leak through.
func reportingErrors(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let exit as ExitCode {
        throw exit
    } catch is CancellationError {
        throw ExitCode(Exit.interrupted)
    } catch let error as ConfigError {
        StandardError.write("devicegate: configuration error: \(error)")
        throw ExitCode(Exit.configuration)
    } catch let error as BrokerError {
        StandardError.write("devicegate: \(error)")
        if case .signInRequired = error { throw ExitCode(Exit.signInNeeded) }
        throw ExitCode(Exit.failed)
    } catch let error as DeviceFlowError {
        StandardError.write("devicegate: \(error)")
        throw ExitCode(Exit.signInFailed)
    } catch let error as RawTokenRefusal {
        StandardError.write("devicegate: \(error)")
        throw ExitCode(Exit.notPermitted)
    } catch let error as ProviderError {
        StandardError.write("devicegate: \(error)")
        throw ExitCode(Exit.configuration)
    } catch {
        StandardError.write("devicegate: \(error)")
        throw ExitCode(Exit.failed)
    }
}

/// Cancels `task` on SIGINT or SIGTERM so polling stops at once and nothing is half-written.
func cancelOnSignals<T: Sendable>(_ task: Task<T, any Error>) -> [any DispatchSourceSignal] {
    [SIGINT, SIGTERM].map { signo in
        signal(signo, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: signo, queue: .global())
        source.setEventHandler { task.cancel() }
        source.resume()
        return source
    }
}

func printJSON(_ object: [String: JSONValue]) {
    if let line = JSONText.encode(object) { print(line) }
}

/// exit(3), under a name ArgumentParser's `exit` methods do not shadow inside a command.
func exitProcess(_ status: Int32) -> Never {
    exit(status)
}
