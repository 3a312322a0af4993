import Crypto

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// One call held for a person: everything the approval message shows, and nothing that could
/// carry a secret (no header values, no query values, no token; the body only as its size, its
/// SHA-256 and a masked preview).
public struct ApprovalRequest: Sendable, Equatable {
    /// What is being asked for.
    public enum Subject: Sendable, Equatable {
        /// A gateway call (HTTP or MCP): the agent's request as it will be forwarded.
        case call(HeldCall)
        /// `devicegate token` or `exec` with `token_access = "approve"`: who wants the raw token.
        case rawToken(requester: String)
        /// The breaker locked the profile: approving unlocks it, denying keeps it locked.
        case breakerLock(reason: String)
    }

    public let id: HeldRequestID
    public let profile: String
    /// The agent's key name ("local" without keys; the requester for a raw token).
    public let agent: String
    /// The `approve` rule that matched, as written; what "Approve for 15 minutes" extends to.
    public let rule: String
    public let subject: Subject
    public let heldAt: Date
    public let expiresAt: Date

    public init(
        id: HeldRequestID = HeldRequestID(), profile: String, agent: String, rule: String, subject: Subject, heldAt: Date,
        expiresAt: Date
    ) {
        self.id = id
        self.profile = profile
        self.agent = agent
        self.rule = rule
        self.subject = subject
        self.heldAt = heldAt
        self.expiresAt = expiresAt
    }
}

/// The parts of a held gateway call a person decides on.
public struct HeldCall: Sendable, Equatable {
    public let method: String
    /// The checked, encoded path (without the profile segment), as it goes upstream.
    public let path: String
    /// The query's parameter names only: values can be secrets or personal data.
    public let queryNames: [String]
    public let bodySize: Int
    /// Lowercase hex SHA-256 of the exact bytes that will be forwarded.
    public let bodySHA256: String
    /// A short masked preview of a JSON or text body; nil when off, empty or binary.
    public let preview: String?

    public init(method: String, path: String, query: String?, body: [UInt8], contentType: String?, preview: Bool) {
        self.method = method
        self.path = path
        self.queryNames = Self.names(in: query)
        self.bodySize = body.count
        self.bodySHA256 = Hex.lowercase(SHA256.hash(data: body))
        self.preview = preview ? BodyPreview.make(body, contentType: contentType) : nil
    }

    /// `a=1&b&a=2` → `["a", "b"]`, decoded, each once, in order.
    static func names(in query: String?) -> [String] {
        guard let query, !query.isEmpty else { return [] }
        var seen: [String] = []
        for pair in query.split(separator: "&") {
            let raw = pair.prefix { $0 != "=" }
            let name = PercentEncoding.decode(raw.replacing("+", with: " ")) ?? String(raw)
            if !name.isEmpty, !seen.contains(name) { seen.append(name) }
        }
        return seen
    }
}

/// The name of one held request: 12 random bytes, base64url without padding (16 characters),
/// so that it fits in Telegram's 64-byte `callback_data` with its MAC, and cannot be guessed.
public struct HeldRequestID: Sendable, Hashable, CustomStringConvertible {
    public let text: String

    public init() {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<12).map { _ in UInt8.random(in: 0...255, using: &generator) }
        text = Base64URL.encode(bytes)
    }

    /// Reads an id from outside (a callback): exactly 16 base64url characters, or nil.
    public init?(_ text: String) {
        guard text.utf8.count == 16, text.utf8.allSatisfy(Self.isBase64URL) else { return nil }
        self.text = text
    }

    static func isBase64URL(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2D || byte == 0x5F
    }

    public var description: String { text }
}
