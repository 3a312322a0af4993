import DeviceGateKit
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Sends the audit chain's head — record count and last HMAC, nothing about what the records
/// say — out through the profiles' notifiers every `interval` seconds and once at shutdown.
///
/// Whoever holds the machine holds the audit key and can rewrite the whole log consistently;
/// a head that has already left the machine (a Telegram message, a webhook receiver) is what
/// `devicegate audit verify --witness COUNT:MAC` checks such a rewrite against. A head that has
/// not moved since the last message is not sent again.
struct AuditWitness: Service {
    let audit: AuditLog
    /// One profile per distinct set of notifiers, so each channel gets one message.
    let recipients: [Profile]
    /// Seconds between heads; nil sends only at shutdown.
    let interval: Double?
    let time: any TimeSource
    let alerter: any PersonAlerter
    let logger: Logger
    private let lastSent = NIOLockedValueBox<AuditHead?>(nil)

    init(
        audit: AuditLog, profiles: [Profile], interval: Double?, time: any TimeSource,
        alerter: any PersonAlerter, logger: Logger
    ) {
        self.audit = audit
        self.recipients = Self.recipients(profiles)
        self.interval = interval
        self.time = time
        self.alerter = alerter
        self.logger = logger
    }

    func run() async throws {
        try? await cancelWhenGracefulShutdown {
            guard let interval else { return try await gracefulShutdown() }
            while true {
                try await time.sleep(seconds: interval)
                await send()
            }
        }
        await send()
    }

    func send() async {
        guard let head = try? await audit.head(), head.count > 0, lastSent.withLockedValue({ $0 }) != head else { return }
        lastSent.withLockedValue { $0 = head }
        logger.info("audit witness", metadata: ["head": "\(head)"])
        for profile in recipients { await alerter.alert(Self.message(head), about: profile) }
    }

    static func message(_ head: AuditHead) -> String {
        "🧾 Audit witness: the gateway's log now holds \(head.count) records, head \(head). Keep this message: "
            + "`devicegate audit verify --witness \(head)` later proves that none of these records was deleted or rewritten, "
            + "even by someone holding the audit key."
    }

    /// The first profile (by name) of each distinct notifier set.
    static func recipients(_ profiles: [Profile]) -> [Profile] {
        var seen = Set<[String]>()
        return profiles.sorted { $0.name < $1.name }.filter { seen.insert($0.notifiers.sorted()).inserted }
    }
}
