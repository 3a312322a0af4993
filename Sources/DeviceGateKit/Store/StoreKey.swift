import Crypto

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The AES-256 key the store encrypts with, and where it came from.
///
/// The key lives in a file, not a keyring: containers and headless servers have no D-Bus, and a
/// Docker or systemd secret is a file anyway. Without `DEVICEGATE_KEY_FILE`, devicegate makes a
/// 0600 key beside the store on first use, and never silently makes a new one while tokens
/// encrypted with the old one exist.
public struct StoreKey: Sendable {
    public enum Source: Sendable, Equatable {
        /// Named by `DEVICEGATE_KEY_FILE` (a Docker secret, systemd credential, …).
        case keyFile(String)
        /// Generated beside the store on first use.
        case generated(String)

        public var path: String {
            switch self {
            case .keyFile(let p), .generated(let p): p
            }
        }

        public var label: String {
            switch self {
            case .keyFile(let p): "key file \(p) (DEVICEGATE_KEY_FILE)"
            case .generated(let p): "generated key file \(p)"
            }
        }
    }

    let key: SymmetricKey
    /// First 8 bytes of a hash of the key, written into each file so that a wrong key is told
    /// apart from a damaged file.
    let id: Data
    public let source: Source

    init(material: Data, source: Source) {
        let key: SymmetricKey
        let text = String(decoding: material, as: UTF8.self).trimmingWhitespaceAndNewlines()
        if let raw = Data(base64Encoded: text), raw.count == 32 {
            key = SymmetricKey(data: raw)
        } else {
            // Any other high-entropy secret (a passphrase file, 48 base64 bytes, …) is stretched.
            key = HKDF<SHA256>.deriveKey(
                inputKeyMaterial: SymmetricKey(data: material), info: Data("devicegate store key v1".utf8), outputByteCount: 32)
        }
        self.key = key
        self.id = key.withUnsafeBytes { Data(SHA256.hash(data: Data("devicegate-key-id".utf8) + Data($0)).prefix(8)) }
        self.source = source
    }

    /// Loads the key from `keyFile` if given, else from (or into) `defaultPath`.
    /// - Parameter existingProfiles: what the store already holds, to refuse replacing a lost key.
    public static func load(keyFile: String?, defaultPath: String, existingProfiles: () -> [String]) throws -> StoreKey {
        if let keyFile {
            // Named from outside the data directory, and a Kubernetes secret is a link.
            guard let data = try SecureFile.read(keyFile, followingLinks: true) else {
                throw StoreError.badKeyFile(path: keyFile, reason: "no such file (DEVICEGATE_KEY_FILE names it)")
            }
            return try validated(data, source: .keyFile(keyFile))
        }
        if let data = try SecureFile.read(defaultPath) {
            return try validated(data, source: .generated(defaultPath))
        }
        let profiles = existingProfiles()
        if !profiles.isEmpty { throw StoreError.keyMissing(path: defaultPath, existingProfiles: profiles) }
        let fresh = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        let material = Data((fresh.base64EncodedString() + "\n").utf8)
        do {
            try SecureFile.writeAtomically(material, to: defaultPath, exclusive: true)
        } catch StoreError.io(_, _, let code) where code == EEXIST {
            // Another process created it first; use theirs.
            guard let data = try SecureFile.read(defaultPath) else {
                throw StoreError.badKeyFile(path: defaultPath, reason: "vanished while being created")
            }
            return try validated(data, source: .generated(defaultPath))
        }
        return StoreKey(material: material, source: .generated(defaultPath))
    }

    private static func validated(_ data: Data, source: Source) throws -> StoreKey {
        let trimmed = String(decoding: data, as: UTF8.self).trimmingWhitespaceAndNewlines()
        guard trimmed.utf8.count >= 32 else {
            throw StoreError.badKeyFile(
                path: source.path, reason: "it holds \(trimmed.utf8.count) bytes; at least 32 random bytes are needed")
        }
        return StoreKey(material: data, source: source)
    }
}
