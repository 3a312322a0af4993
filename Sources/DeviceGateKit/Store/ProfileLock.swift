import Foundation

/// A profile locked by the breaker, or frozen by a person: while the file exists, the gateway
/// answers 423 and no token is handed out through it. Kept beside the store so every process
/// sees it, and removed only by a person (`devicegate unlock`, `/unfreeze`).
public struct ProfileLock: Sendable, Codable, Equatable {
    /// Why the profile is shut: the two switches live side by side, so that a shared store can
    /// carry both the same way.
    public enum Kind: String, Sendable, Codable {
        /// The breaker tripped (`PROFILE.locked`); `devicegate unlock` lifts it.
        case breaker = "locked"
        /// A person froze it from the chat (`PROFILE.frozen`); `/unfreeze` lifts it.
        case frozen
    }

    public var profile: String
    public var reason: String
    public var lockedAt: Date
    public var kind: Kind

    public init(profile: String, reason: String, lockedAt: Date, kind: Kind = .breaker) {
        self.profile = profile
        self.reason = reason
        self.lockedAt = lockedAt
        self.kind = kind
    }

    enum CodingKeys: String, CodingKey { case profile, reason, lockedAt, kind }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        profile = try container.decode(String.self, forKey: .profile)
        reason = try container.decode(String.self, forKey: .reason)
        lockedAt = try container.decode(Date.self, forKey: .lockedAt)
        // Lock files written before freezing existed carry no kind.
        kind = try container.decodeIfPresent(Kind.self, forKey: .kind) ?? .breaker
    }

    public static func path(_ profile: String, in directory: String, kind: Kind = .breaker) -> String {
        "\(directory)/\(profile).\(kind.rawValue)"
    }

    public static func read(_ profile: String, in directory: String, kind: Kind = .breaker) -> ProfileLock? {
        let data: Data
        do {
            guard let contents = try SecureFile.read(path(profile, in: directory, kind: kind)) else { return nil }
            data = contents
        } catch {
            // A lock file that cannot be read safely (a symbolic link, open to others) still
            // locks: failing open would defeat the breaker.
            let why =
                switch error {
                case StoreError.symbolicLink: "it is a symbolic link"
                case StoreError.notARegularFile: "it is not a regular file"
                case StoreError.insecurePermissions: "it is not private to this user"
                default: "it cannot be read"
                }
            return ProfileLock(
                profile: profile, reason: "\(kind == .frozen ? "frozen" : "locked") (the file is unusable: \(why))", lockedAt: Date(),
                kind: kind)
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard var lock = try? decoder.decode(ProfileLock.self, from: data) else {
            return ProfileLock(
                profile: profile, reason: "\(kind == .frozen ? "frozen" : "locked") (the file is unreadable)", lockedAt: Date(), kind: kind)
        }
        // The file's name decides what it is, not what it says.
        lock.kind = kind
        return lock
    }

    public func write(in directory: String) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        try SecureFile.writeAtomically(try encoder.encode(self), to: Self.path(profile, in: directory, kind: kind))
    }

    @discardableResult
    public static func remove(_ profile: String, in directory: String, kind: Kind = .breaker) throws -> Bool {
        try ProfileName.validate(profile)
        return try SecureFile.remove(path(profile, in: directory, kind: kind))
    }
}
