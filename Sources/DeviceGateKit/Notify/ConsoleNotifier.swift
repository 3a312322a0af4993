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

/// Shows the sign-in on the terminal (stderr): link, code, QR code and a live countdown.
///
/// stderr keeps stdout clean for `--json` and scripts. On a terminal the countdown rewrites one
/// line each second; elsewhere (logs, `docker logs`) it prints a line a minute instead.
public actor ConsoleNotifier: SignInNotifier {
    public nonisolated let name = "console"
    private let write: @Sendable (String) -> Void
    private let isTerminal: Bool
    private let showQR: Bool
    private let time: any TimeSource
    private var countdown: Task<Void, Never>?

    public init(
        showQR: Bool = true, isTerminal: Bool = StandardStream.error.isTerminal, time: any TimeSource = SystemTimeSource(),
        write: @escaping @Sendable (String) -> Void = { StandardStream.error.write($0) }
    ) {
        self.showQR = showQR
        self.isTerminal = isTerminal
        self.time = time
        self.write = write
    }

    public func notify(_ event: SignInEvent) async throws {
        if event.isFinal {
            countdown?.cancel()
            countdown = nil
            if isTerminal { write("\r\u{1B}[2K") }
        }
        switch event {
        case .codeIssued(let code):
            write(Self.codeText(code, qr: showQR))
            startCountdown(until: code.expiresAt)
        case .signedIn(let e):
            write("✓ Signed in as \(e.identity?.displayName ?? "an unknown user") (profile \(e.profile)).\n")
        case .alreadySignedIn(let profile, let identity, _):
            write(
                "Already authenticated: profile \(profile)" + (identity.map { " as \($0.displayName)" } ?? "")
                    + ". Use --force for a new sign-in.\n")
        case .declined(let profile, let message):
            write("✗ The sign-in for \(profile) was declined" + (message.map { ": \($0)" } ?? ".") + "\n")
        case .expired(let profile):
            write("✗ The code for \(profile) expired before it was approved. Run the login again for a new code.\n")
        case .failed(let profile, let message):
            write("✗ The sign-in for \(profile) failed: \(message)\n")
        case .warning(_, let message):
            write((isTerminal ? "\r\u{1B}[2K" : "") + "! \(message)\n")
        }
    }

    static func codeText(_ code: SignInEvent.CodeIssued, qr: Bool) -> String {
        var text = "\nSign in to \(code.provider) for profile \(code.profile)"
        if !code.scopes.isEmpty { text += " (scopes: \(code.scopes.joined(separator: " ")))" }
        text += "\n\n  1. Open   \(code.verificationURI)\n  2. Enter  \(code.userCode)\n\n"
        if qr, let qrCode = QRCode(code.verificationURIComplete ?? code.verificationURI) {
            text += "Or scan this with your phone" + (code.verificationURIComplete == nil ? " (then enter the code)" : "") + ":\n\n"
            text += qrCode.terminalString() + "\n"
        }
        if let message = code.message { text += "\(message)\n\n" }
        return text
    }

    private func startCountdown(until deadline: Date) {
        countdown?.cancel()
        let (time, write, isTerminal) = (self.time, self.write, self.isTerminal)
        countdown = Task {
            var lastPrinted = Date.distantPast
            while !Task.isCancelled {
                let left = max(0, Int(deadline.timeIntervalSince(time.now())))
                if isTerminal {
                    write("\r\u{1B}[2KWaiting for approval… \(Self.clock(left)) left (Ctrl-C to cancel)")
                } else if time.now().timeIntervalSince(lastPrinted) >= 60 {
                    write("Waiting for approval… \(Self.clock(left)) left\n")
                    lastPrinted = time.now()
                }
                if left == 0 { return }
                try? await time.sleep(seconds: 1)
            }
        }
    }

    static func clock(_ seconds: Int) -> String { String(printf: "%ld:%02ld", seconds / 60, seconds % 60) }
}
