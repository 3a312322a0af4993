import Crypto

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Encrypted, locked, atomically written token files: one per profile.
///
/// The `files` driver of ``ProfileStore``, and the default. Each file holds one entry sealed by
/// ``TokenSeal`` (a file copied to another profile's name is refused rather than trusted). The
/// store is the only code that touches disk.
public struct TokenStore: Sendable {
    static let fileExtension = "dgt"

    public let directory: String
    public let key: StoreKey

    /// Opens (creating if needed) the store in `directory`, 0700.
    /// - Parameter keyFile: `DEVICEGATE_KEY_FILE`; nil to use or generate `directory/store.key`.
    public init(directory: String, keyFile: String?) throws {
        try SecureFile.ensurePrivateDirectory(directory)
        self.directory = directory
        let listing = { Self.listProfiles(in: directory) }
        self.key = try StoreKey.load(keyFile: keyFile, defaultPath: directory + "/store.key", existingProfiles: listing)
    }

    public func path(for profile: String) -> String { "\(directory)/\(profile).\(Self.fileExtension)" }
    public func lockPath(for profile: String) -> String { "\(directory)/.\(profile).lock" }

    /// The profiles with a file in the store.
    public func profiles() -> [String] { Self.listProfiles(in: directory) }

    static func listProfiles(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix("." + fileExtension) && !$0.hasPrefix(".") }
            .map { String($0.dropLast(fileExtension.count + 1)) }.sorted()
    }

    /// The stored entry, or nil if the profile has none. Throws for anything damaged or foreign.
    public func load(_ profile: String) throws -> StoredProfile? {
        try ProfileName.validate(profile)
        let path = path(for: profile)
        guard let data = try SecureFile.read(path) else { return nil }
        var entry = try seal.open(data, profile: profile, location: path)
        entry.revision = Self.revision(of: data)
        return entry
    }

    /// Writes the entry whatever is stored. Callers hold the profile's lock (``withLock(_:_:)``).
    public func save(_ entry: StoredProfile) throws {
        try ProfileName.validate(entry.profile)
        try SecureFile.writeAtomically(try encode(entry), to: path(for: entry.profile))
    }

    /// Compare-and-swap on files: the revision is a hash of the file's bytes, compared and
    /// replaced under the caller's profile lock, which every writer takes.
    @discardableResult
    public func save(_ entry: StoredProfile, replacing expected: StoreRevision?) throws -> StoreRevision {
        try ProfileName.validate(entry.profile)
        let path = path(for: entry.profile)
        if let expected {
            guard let current = try SecureFile.read(path), Self.revision(of: current) == expected else {
                throw StoreConflict(profile: entry.profile)
            }
        }
        let data = try encode(entry)
        try SecureFile.writeAtomically(data, to: path)
        return Self.revision(of: data)
    }

    static func revision(of data: Data) -> StoreRevision {
        StoreRevision(Hex.lowercase(SHA256.hash(data: data).prefix(12)))
    }

    /// Deletes the profile's file. Returns whether there was one.
    @discardableResult
    public func delete(_ profile: String) throws -> Bool {
        try ProfileName.validate(profile)
        return try SecureFile.remove(path(for: profile))
    }

    /// Runs `body` holding the profile's cross-process lock.
    public func withLock<T: Sendable>(_ profile: String, _ body: () async throws -> T) async throws -> T {
        try ProfileName.validate(profile)
        return try await FileLock.withLock(lockPath(for: profile), body)
    }

    var seal: TokenSeal { TokenSeal(key: key) }

    func encode(_ entry: StoredProfile) throws -> Data { try seal.seal(entry) }

    /// A store file's bytes for `profile` around any plaintext record, sealed with this store's
    /// key. Public for the fuzz target (Fuzz/DeviceGateFuzz): without it, hostile records could
    /// never get past the authentication check to the record decoder behind it.
    public func seal(record plaintext: Data, profile: String) throws -> Data {
        try seal.seal(record: plaintext, profile: profile)
    }

    /// Reads a store file's bytes as ``load(_:)`` does, without the disk: the entry point the
    /// fuzz target feeds damaged and foreign files to. Throws ``StoreError`` for anything else.
    public func decode(file data: Data, profile: String) throws -> StoredProfile {
        try seal.open(data, profile: profile, location: path(for: profile))
    }
}
