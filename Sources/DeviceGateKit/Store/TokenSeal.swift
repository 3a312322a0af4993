import Crypto

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Seals a stored entry for any store and opens it again: the one format on disk and in a
/// database.
///
/// Layout: `DGT1` magic, the key id (8 bytes), then an AES-256-GCM sealed box whose additional
/// data is the magic and the profile name. A database therefore holds only ciphertext, and an
/// entry copied to another profile's name (a file renamed, a row's key changed) fails
/// authentication instead of being trusted.
public struct TokenSeal: Sendable {
    static let magic = Data("DGT1".utf8)
    public let key: StoreKey

    public init(key: StoreKey) { self.key = key }

    /// The sealed bytes of `entry`.
    public func seal(_ entry: StoredProfile) throws -> Data {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        return try seal(record: try encoder.encode(StoredProfilePayload(entry)), profile: entry.profile)
    }

    /// Seals any plaintext record for `profile` (the fuzz target needs hostile records sealed).
    public func seal(record plaintext: Data, profile: String) throws -> Data {
        let sealed = try AES.GCM.seal(plaintext, using: key.key, authenticating: Self.magic + Data(profile.utf8))
        guard let combined = sealed.combined else { throw CryptoKitError.incorrectParameterSize }
        return Self.magic + key.id + combined
    }

    /// Opens sealed bytes stored for `profile`; `location` names where they came from in errors
    /// (a file path, a database row). Throws ``StoreError`` for anything damaged, foreign,
    /// sealed with another key, or sealed for another profile.
    public func open(_ data: Data, profile: String, location path: String) throws -> StoredProfile {
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

    /// The key id as hex: what a shared store records, so a replica with another key is told
    /// so before it writes anything.
    public var keyID: String { Hex.lowercase(key.id) }
}
