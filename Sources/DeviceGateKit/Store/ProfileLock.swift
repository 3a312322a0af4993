import Foundation

/// A profile locked by the breaker: while the file exists, the gateway answers 423 and no
/// token is handed out through it. Kept beside the store so every process sees it, and removed
/// only by a person (`devicegate unlock`).
public struct ProfileLock: Sendable, Codable, Equatable {
    public var profile: String
    public var reason: String
    public var lockedAt: Date

    public init(profile: String, reason: String, lockedAt: Date) {
        self.profile = profile
        self.reason = reason
        self.lockedAt = lockedAt
    }

    public static func path(_ profile: String, in directory: String) -> String { "\(directory)/\(profile).locked" }

    public static func read(_ profile: String, in directory: String) -> ProfileLock? {
        guard let data = FileManager.default.contents(atPath: path(profile, in: directory)) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        // An unreadable lock file still locks: failing open would defeat the breaker.
        return (try? decoder.decode(ProfileLock.self, from: data))
            ?? ProfileLock(profile: profile, reason: "locked (the lock file is unreadable)", lockedAt: Date())
    }

    public func write(in directory: String) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        try SecureFile.writeAtomically(try encoder.encode(self), to: Self.path(profile, in: directory))
    }

    @discardableResult
    public static func remove(_ profile: String, in directory: String) throws -> Bool {
        try ProfileName.validate(profile)
        return try SecureFile.remove(path(profile, in: directory))
    }
}
