import Foundation

/// One JSON object per line on stdout, for scripts and agents (`devicegate login --json`).
public struct JSONLinesNotifier: SignInNotifier {
    public let name = "json"
    private let write: @Sendable (String) -> Void

    public init(write: @escaping @Sendable (String) -> Void = { FileHandle.standardOutput.write(Data(($0 + "\n").utf8)) }) {
        self.write = write
    }

    public func notify(_ event: SignInEvent) async throws {
        if let line = Self.line(for: event) { write(line) }
    }

    public static func line(for event: SignInEvent) -> String? {
        var object: [String: Any] = ["profile": event.profile]
        switch event {
        case .codeIssued(let c):
            object["event"] = "device_code"
            object["user_code"] = c.userCode
            object["verification_uri"] = c.verificationURI
            object["verification_uri_complete"] = c.verificationURIComplete ?? NSNull()
            object["expires_in"] = c.expiresIn
            object["interval"] = c.interval
            object["scopes"] = c.scopes
            object["provider"] = c.provider
        case .signedIn(let s):
            object["event"] = "signed_in"
            object["name"] = s.identity?.name ?? NSNull()
            object["email"] = s.identity?.email ?? NSNull()
            object["scopes"] = s.scopes
            object["expires_at"] = s.expiresAt.map(JSONTime.string) ?? NSNull()
        case .alreadySignedIn(_, let identity, let expiresAt):
            object["event"] = "already_signed_in"
            object["name"] = identity?.name ?? NSNull()
            object["email"] = identity?.email ?? NSNull()
            object["expires_at"] = expiresAt.map(JSONTime.string) ?? NSNull()
        case .declined(_, let message):
            object["event"] = "failed"
            object["reason"] = "declined"
            object["message"] = message ?? "the sign-in was declined"
        case .expired:
            object["event"] = "failed"
            object["reason"] = "expired"
            object["message"] = "the code expired before it was approved"
        case .failed(_, let message):
            object["event"] = "failed"
            object["reason"] = "error"
            object["message"] = message
        case .warning(_, let message):
            object["event"] = "warning"
            object["message"] = message
        }
        return JSONText.encode(object)
    }
}

public enum JSONText {
    /// Compact, key-sorted JSON for one object.
    public static func encode(_ object: [String: Any]) -> String? {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            return nil
        }
        return String(decoding: data, as: UTF8.self)
    }
}

public enum JSONTime {
    @Sendable public static func string(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }
}
