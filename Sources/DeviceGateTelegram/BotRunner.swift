import DeviceGateKit
import Logging
import NIOCore
import ServiceLifecycle

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Runs the bot as a service until SIGTERM or SIGINT, then shuts it down gracefully: the poll
/// is cancelled, running sign-ins are ended and their code messages edited, and the process
/// exits 0. swift-service-lifecycle does the signal handling.
public enum BotRunner {
    public static func run(_ bot: TelegramBot) async throws {
        // The group's own log lines would only repeat what the bot says on stderr.
        let quiet = Logger(label: "devicegate.bot", factory: { _ in SwiftLogNoOpLogHandler() })
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [
                    .init(service: bot, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .cancelGroup)
                ], gracefulShutdownSignals: [.sigterm, .sigint], logger: quiet))
        try await group.run()
    }

    /// The transport for `getUpdates`: its deadline must outlast the long poll.
    public static func pollTransport(pollTimeout: Int) -> any HTTPTransport {
        AsyncHTTPTransport(timeout: .seconds(Int64(pollTimeout) + 15))
    }
}
