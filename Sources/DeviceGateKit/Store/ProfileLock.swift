#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A hold on a profile (``ProfileHoldKind``): locked by the breaker, or frozen. While the file
/// exists, the gateway answers 423 and no token is handed out through it. Kept beside the
/// store so every process sees it, and removed only by a person (`devicegate unlock`).
public struct ProfileLock: Sendable, Codable, Equatable {
    public var profile: String
    public var reason: String
    public var lockedAt: Date

    public init(profile: String, reason: String, lockedAt: Date) {
        self.profile = profile
        self.reason = reason
        self.lockedAt = lockedAt
    }

    public static func path(_ profile: String, kind: ProfileHoldKind = .locked, in directory: String) -> String {
        "\(directory)/\(profile).\(kind.rawValue)"
    }

    public static func read(_ profile: String, kind: ProfileHoldKind = .locked, in directory: String) -> ProfileLock? {
        let data: Data
        do {
            guard let contents = try SecureFile.read(path(profile, kind: kind, in: directory)) else { return nil }
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
            return ProfileLock(profile: profile, reason: "locked (the lock file is unusable: \(why))", lockedAt: Date())
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return (try? decoder.decode(ProfileLock.self, from: data))
            ?? ProfileLock(profile: profile, reason: "locked (the lock file is unreadable)", lockedAt: Date())
    }

    public func write(kind: ProfileHoldKind = .locked, in directory: String) throws {
        try SecureFile.writeAtomically(try encoded(), to: Self.path(profile, kind: kind, in: directory))
    }

    @discardableResult
    public static func remove(_ profile: String, kind: ProfileHoldKind = .locked, in directory: String) throws -> Bool {
        try ProfileName.validate(profile)
        return try SecureFile.remove(path(profile, kind: kind, in: directory))
    }

    /// The JSON a hold is kept as, in a file or a database row.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(self)
    }

    /// A hold read back from a shared store; an unreadable one still holds, as for files.
    public static func decoded(_ data: Data, profile: String) -> ProfileLock {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let lock = try? decoder.decode(ProfileLock.self, from: data), lock.profile == profile else {
            return ProfileLock(profile: profile, reason: "locked (the stored hold is unreadable)", lockedAt: Date())
        }
        return lock
    }
}
