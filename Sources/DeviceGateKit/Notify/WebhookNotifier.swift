import Crypto

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// POSTs each sign-in event as JSON to a URL, so any channel (Slack, Discord, a pager, a home
/// automation hub) can be wired in without devicegate knowing it.
///
/// The body is the same object `login --json` prints, plus `sent_at`. With a shared secret the
/// request carries `X-DeviceGate-Signature: sha256=<hex HMAC-SHA256 of the body>`, so the
/// receiver can check it came from us. Network failures and 5xx answers are retried with
/// backoff; a 4xx is the receiver saying no, and is reported at once.
public struct WebhookNotifier: SignInNotifier {
    public let name = "webhook"
    public static let signatureHeader = "X-DeviceGate-Signature"
    public static let eventHeader = "X-DeviceGate-Event"

    private let url: Secret
    private let secret: Secret?
    private let transport: any HTTPTransport
    private let time: any TimeSource
    private let attempts: Int

    /// - Parameter url: a Secret because chat webhooks carry their credential in the path.
    public init(url: Secret, secret: Secret? = nil, transport: any HTTPTransport, time: any TimeSource, attempts: Int = 4) {
        self.url = url
        self.secret = secret
        self.transport = transport
        self.time = time
        self.attempts = max(1, attempts)
    }

    public init(settings: WebhookSettings, transport: any HTTPTransport, time: any TimeSource) throws {
        self.init(url: settings.url, secret: try settings.secret?.load(), transport: transport, time: time)
    }

    /// Scheme and host only: the path and query of a webhook URL are often its password.
    var target: String {
        guard let parsed = URL(string: url.reveal()), let host = parsed.host else { return "the webhook" }
        return "the webhook at \(parsed.scheme ?? "https")://\(host)" + (parsed.port.map { ":\($0)" } ?? "")
    }

    public func notify(_ event: SignInEvent) async throws {
        guard let body = Self.body(for: event, sentAt: time.now()), let endpoint = URL(string: url.reveal()) else { return }
        var request = OutgoingRequest(
            method: "POST", url: endpoint,
            headers: [("Content-Type", "application/json"), (Self.eventHeader, Self.eventName(body))], body: Secret(body))
        if let secret { request.headers.append((Self.signatureHeader, Self.signature(body, secret: secret))) }
        var delay = 1.0
        for attempt in 1...attempts {
            let problem: String
            do {
                let response = try await transport.send(request)
                if (200..<300).contains(response.status) { return }
                if (400..<500).contains(response.status) && response.status != 429 {
                    throw WebhookError(message: "\(target) refused the event: HTTP \(response.status)")
                }
                problem = "\(target) answered HTTP \(response.status)"
            } catch let error as TransportError {
                problem = "\(target) could not be reached" + (error.kind == .timedOut ? " in time" : "")
            }
            if attempt == attempts { throw WebhookError(message: "\(problem) (tried \(attempts) times)") }
            try await time.sleep(seconds: delay)
            delay = min(delay * 2, 30)
        }
    }

    /// The JSON body: the `login --json` event plus the time it was sent.
    public static func body(for event: SignInEvent, sentAt: Date) -> String? {
        guard let line = JSONLinesNotifier.line(for: event),
            var object = JSONValue.parse(Data(line.utf8))?.object
        else { return nil }
        object["sent_at"] = .string(JSONTime.string(sentAt))
        return JSONText.encode(object)
    }

    /// `sha256=` and the lower-case hex HMAC-SHA256 of the exact body bytes.
    public static func signature(_ body: String, secret: Secret) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data(body.utf8), using: SymmetricKey(data: Data(secret.reveal().utf8)))
        return "sha256=" + Hex.lowercase(mac)
    }

    static func eventName(_ body: String) -> String {
        JSONValue.parse(Data(body.utf8))?["event"]?.string ?? "event"
    }
}

/// A webhook delivery that failed; names the host only.
public struct WebhookError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
