import DeviceGateKit
import NIOConcurrencyHelpers

/// Keeps the alerts a gateway sends the person, for a test to read.
public final class RecordingAlerter: PersonAlerter {
    private let box = NIOLockedValueBox<[String]>([])

    public init() {}

    public var messages: [String] { box.withLockedValue { $0 } }

    public func alert(_ message: String, about profile: Profile) async {
        box.withLockedValue { $0.append(message) }
    }
}

/// A person who never completes a sign-in: each attempt fails at once, as a declined one does.
public struct DecliningSignIn: SignInStarter {
    public init() {}

    public func signIn(_ profile: Profile) async throws { throw CancellationError() }
}
