import DeviceGateKit

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The device sign-ins started through MCP, one at a time per profile: `sign_in` must return as
/// soon as the person has a code (the model cannot wait minutes in one call), and
/// `sign_in_status` must then tell how it went.
///
/// Each sign-in is a ``SignInService`` run with the profile's own notifiers plus one that reports
/// its events back here; the events carry no secret, so neither does anything kept here.
public actor SignIns {
    public enum State: Sendable {
        /// Started; `code` once the identity provider issued one.
        case running(code: SignInEvent.CodeIssued?)
        /// Ended: `signedIn`, `alreadySignedIn`, `declined`, `expired` or `failed`.
        case ended(SignInEvent)
    }

    /// Builds the sign-in for a profile: its notifiers (which need the program's configuration),
    /// store, audit log and actor. The executable supplies it.
    public typealias Factory = @Sendable (Profile, MCPServer.Caller, any SignInNotifier) throws -> SignInService

    let factory: Factory
    /// How long `start` waits for the code before it answers anyway.
    let codeWait: Duration
    private var states: [String: State] = [:]

    public init(codeWait: Duration = .seconds(30), factory: @escaping Factory) {
        self.factory = factory
        self.codeWait = codeWait
    }

    public func state(of profile: String) -> State? { states[profile] }

    /// Starts a sign-in unless one is running, then waits until it has a code or has ended.
    /// - Returns: the state to report, and whether this call started it.
    public func start(_ profile: Profile, caller: MCPServer.Caller) async throws -> (state: State, started: Bool) {
        if case .running(let code)? = states[profile.name] { return (.running(code: code), false) }
        let service = try factory(profile, caller, Progress(profile: profile.name, signIns: self))
        states[profile.name] = .running(code: nil)
        let name = profile.name
        Task {
            do { _ = try await service.run() } catch {
                // The service has told the notifiers (and so this actor) how it ended; this
                // covers an ending it could not announce.
                await self.endIfRunning(name, .failed(profile: name, message: String(describing: error)))
            }
        }
        let deadline = ContinuousClock.now + codeWait
        while case .running(nil)? = states[name], ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        return (states[name] ?? .running(code: nil), true)
    }

    func record(_ event: SignInEvent) {
        switch event {
        case .codeIssued(let code): states[event.profile] = .running(code: code)
        case .warning: break
        default: states[event.profile] = .ended(event)
        }
    }

    func endIfRunning(_ profile: String, _ event: SignInEvent) {
        if case .running? = states[profile] { states[profile] = .ended(event) }
    }

    /// The notifier that feeds a sign-in's events back into ``SignIns``.
    struct Progress: SignInNotifier {
        let profile: String
        let signIns: SignIns
        var name: String { "mcp" }
        func notify(_ event: SignInEvent) async throws { await signIns.record(event) }
    }
}
