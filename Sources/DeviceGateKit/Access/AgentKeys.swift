import Crypto

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Per-agent keys: the gateway stores only SHA-256 hashes and compares in constant time, and
/// records which agent made each call.
public struct AgentKeys: Sendable {
    let hashes: [(name: String, digest: [UInt8])]

    public init(_ configured: [String: String]) {
        hashes = configured.sorted { $0.key < $1.key }.compactMap { name, value in
            let hex = value.dropFirst("sha256:".count)
            let bytes = stride(from: 0, to: hex.count, by: 2).compactMap { i -> UInt8? in
                let start = hex.index(hex.startIndex, offsetBy: i)
                return UInt8(hex[start..<hex.index(start, offsetBy: 2)], radix: 16)
            }
            return bytes.count == 32 ? (name, bytes) : nil
        }
    }

    public var isEmpty: Bool { hashes.isEmpty }

    /// The agent a presented key belongs to, or nil. Every stored hash is compared, whatever
    /// matches, so timing says nothing about which key was close.
    public func agent(for presented: String) -> String? {
        let digest = Array(SHA256.hash(data: Data(presented.utf8)))
        var found: String?
        for (name, stored) in hashes {
            var difference: UInt8 = 0
            for i in 0..<32 { difference |= stored[i] ^ digest[i] }
            if difference == 0 { found = name }
        }
        return found
    }

    /// A new random key and the config line that admits it.
    public static func generate() -> (key: String, configValue: String) {
        let raw = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        let key = "dgk_" + Base64URL.encode(raw)
        let hash = Hex.lowercase(SHA256.hash(data: Data(key.utf8)))
        return (key, "sha256:" + hash)
    }
}
