#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A channel that tells a person (or a program) about a sign-in: the console, Telegram, a webhook.
///
/// Notifiers are the only code that talks to the human. They receive ``SignInEvent``s, which
/// cannot carry secrets.
public protocol SignInNotifier: Sendable {
    var name: String { get }
    func notify(_ event: SignInEvent) async throws
}

/// The notifier names a profile's `notify` and `login --notify` accept.
public enum NotifierNames {
    public static let all = ["console", "telegram", "webhook", "command"]
}

/// Sends each event to every notifier; one that fails is reported and skipped, never allowed to
/// stop the sign-in or the other notifiers.
public struct NotifierFanout: Sendable {
    public let notifiers: [any SignInNotifier]
    public let reportFailure: @Sendable (String) -> Void

    public init(_ notifiers: [any SignInNotifier], reportFailure: @escaping @Sendable (String) -> Void = StandardError.write) {
        self.notifiers = notifiers
        self.reportFailure = reportFailure
    }

    /// Failures go to stderr and, as `notifier_failed` records, to the audit log.
    public init(_ notifiers: [any SignInNotifier], auditingTo audit: AuditLog, profile: String) {
        self.init(notifiers) { line in
            StandardError.write(line)
            Task { try? await audit.record("notifier_failed", ["profile": .string(profile), "detail": .string(line)]) }
        }
    }

    public func send(_ event: SignInEvent) async {
        await withTaskGroup(of: Void.self) { group in
            for notifier in notifiers {
                group.addTask {
                    do { try await notifier.notify(event) } catch {
                        reportFailure("devicegate: warning: the \(notifier.name) notifier failed: \(error)")
                    }
                }
            }
        }
    }
}

/// Writes whole lines to stderr, unbuffered.
public enum StandardError {
    @Sendable public static func write(_ line: String) {
        StandardStream.error.write(line + "\n")
    }
}
