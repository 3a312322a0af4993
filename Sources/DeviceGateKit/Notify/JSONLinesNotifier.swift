#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One JSON object per line on stdout, for scripts and agents (`devicegate login --json`).
public struct JSONLinesNotifier: SignInNotifier {
    public let name = "json"
    private let write: @Sendable (String) -> Void

    public init(write: @escaping @Sendable (String) -> Void = { StandardStream.output.write($0 + "\n") }) {
        self.write = write
    }

    public func notify(_ event: SignInEvent) async throws {
        if let line = Self.line(for: event) { write(line) }
    }

    public static func line(for event: SignInEvent) -> String? {
        var object: [String: JSONValue] = ["profile": .string(event.profile)]
        switch event {
        case .codeIssued(let c):
            object["event"] = "device_code"
            object["user_code"] = .string(c.userCode)
            object["verification_uri"] = .string(c.verificationURI)
            object["verification_uri_complete"] = JSONValue(c.verificationURIComplete)
            object["expires_in"] = JSONValue(c.expiresIn)
            object["interval"] = JSONValue(c.interval)
            object["scopes"] = JSONValue(c.scopes)
            object["provider"] = .string(c.provider)
        case .signedIn(let s):
            object["event"] = "signed_in"
            object["name"] = JSONValue(s.identity?.name)
            object["email"] = JSONValue(s.identity?.email)
            object["scopes"] = JSONValue(s.scopes)
            object["expires_at"] = JSONValue(s.expiresAt.map(JSONTime.string))
        case .alreadySignedIn(_, let identity, let expiresAt):
            object["event"] = "already_signed_in"
            object["name"] = JSONValue(identity?.name)
            object["email"] = JSONValue(identity?.email)
            object["expires_at"] = JSONValue(expiresAt.map(JSONTime.string))
        case .declined(_, let message):
            object["event"] = "failed"
            object["reason"] = "declined"
            object["message"] = .string(message ?? "the sign-in was declined")
        case .expired:
            object["event"] = "failed"
            object["reason"] = "expired"
            object["message"] = "the code expired before it was approved"
        case .failed(_, let message):
            object["event"] = "failed"
            object["reason"] = "error"
            object["message"] = .string(message)
        case .warning(_, let message):
            object["event"] = "warning"
            object["message"] = .string(message)
        }
        return JSONText.encode(object)
    }
}

public enum JSONText {
    /// Compact, key-sorted JSON for one object.
    public static func encode(_ object: [String: JSONValue]) -> String? {
        String(decoding: JSONValue.object(object).encoded(), as: UTF8.self)
    }
}

public enum JSONTime {
    @Sendable public static func string(_ date: Date) -> String {
        InternetTime.string(date)
    }
}
