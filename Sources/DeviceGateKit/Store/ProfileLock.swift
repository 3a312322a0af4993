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
        let data: Data
        do {
            guard let contents = try SecureFile.read(path(profile, in: directory)) else { return nil }
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
