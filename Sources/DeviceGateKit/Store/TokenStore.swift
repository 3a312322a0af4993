import Crypto
import Foundation

/// Encrypted, locked, atomically written token files: one per profile.
///
/// File layout: `DGT1` magic, the key id (8 bytes), then an AES-256-GCM sealed box whose
/// additional data is the magic and the profile name, so a file copied to another profile's
/// name is refused rather than trusted. The store is the only code that touches disk.
public struct TokenStore: Sendable {
    static let magic = Data("DGT1".utf8)
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
        return try decode(data, profile: profile, path: path)
    }

    public func save(_ entry: StoredProfile) throws {
        try ProfileName.validate(entry.profile)
        try SecureFile.writeAtomically(try encode(entry), to: path(for: entry.profile))
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

    func encode(_ entry: StoredProfile) throws -> Data {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        return try seal(record: try encoder.encode(StoredProfilePayload(entry)), profile: entry.profile)
    }

    /// A store file's bytes for `profile` around any plaintext record, sealed with this store's
    /// key. Public for the fuzz target (Fuzz/DeviceGateFuzz): without it, hostile records could
    /// never get past the authentication check to the record decoder behind it.
    public func seal(record plaintext: Data, profile: String) throws -> Data {
        let sealed = try AES.GCM.seal(plaintext, using: key.key, authenticating: Self.magic + Data(profile.utf8))
        guard let combined = sealed.combined else {
            throw StoreError.io(path: path(for: profile), operation: "encrypt", errno: EINVAL)
        }
        return Self.magic + key.id + combined
    }

    /// Reads a store file's bytes as ``load(_:)`` does, without the disk: the entry point the
    /// fuzz target feeds damaged and foreign files to. Throws ``StoreError`` for anything else.
    public func decode(file data: Data, profile: String) throws -> StoredProfile {
        try decode(data, profile: profile, path: path(for: profile))
    }

    func decode(_ data: Data, profile: String, path: String) throws -> StoredProfile {
        let header = Self.magic.count + key.id.count
        guard data.count >= Self.magic.count, data.prefix(Self.magic.count) == Self.magic else {
            if data.isEmpty { throw StoreError.corrupted(path: path, reason: "the file is empty", profile: profile) }
            throw StoreError.foreign(path: path, reason: "it does not start with devicegate's DGT1 header")
        }
        guard data.count >= header + 12 + 16 else {
            throw StoreError.corrupted(path: path, reason: "truncated to \(data.count) bytes", profile: profile)
        }
        guard data.subdata(in: Self.magic.count..<header) == key.id else {
            throw StoreError.wrongKey(path: path, profile: profile)
        }
        let plaintext: Data
        do {
            let box = try AES.GCM.SealedBox(combined: data.subdata(in: header..<data.count))
            plaintext = try AES.GCM.open(box, using: key.key, authenticating: Self.magic + Data(profile.utf8))
        } catch {
            throw StoreError.corrupted(
                path: path, reason: "it fails authentication: it was altered, truncated, or copied from another profile", profile: profile)
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .secondsSince1970
        guard let payload = try? decoder.decode(StoredProfilePayload.self, from: plaintext), payload.profile == profile else {
            throw StoreError.corrupted(path: path, reason: "its contents are not a token record", profile: profile)
        }
        return payload.value
    }
}
