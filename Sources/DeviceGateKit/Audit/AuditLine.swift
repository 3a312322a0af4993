import Crypto

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A value an audit record may hold. There is no case for a ``Secret``: nothing that holds a
/// token can be written here.
public enum AuditValue: Sendable, Equatable {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
}

/// How a record becomes a line, and how a line is authenticated: the one definition the writer,
/// the verifier and the head share, so they cannot drift apart.
enum AuditLine {
    static let genesis = String(repeating: "0", count: 64)

    static func key(_ storeKey: StoreKey) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: storeKey.key, info: Data("devicegate audit log v1".utf8), outputByteCount: 32)
    }

    static func mac<D: DataProtocol>(_ bytes: D, key: SymmetricKey) -> String {
        Hex.lowercase(HMAC<SHA256>.authenticationCode(for: bytes, using: key))
    }

    /// The `prev` field of a line, or nil when the line is not a JSON object with a string `prev`.
    static func prev<D: DataProtocol>(of bytes: D) -> String? { fields(of: bytes)?.prev }

    /// `prev` and `log` of a line, or nil when the line is not a JSON object with a string `prev`.
    static func fields<D: DataProtocol>(of bytes: D) -> (prev: String, log: String?)? {
        guard let object = JSONValue.parse(Data(bytes))?.object, let prev = object["prev"]?.string else { return nil }
        return (prev, object["log"]?.string)
    }

    /// The `log` field of the first record of every log this version creates (`created`) or
    /// adopts from an older version (`sealed`): a log holding one was sealed, so an unsealed
    /// (older) head on it is a downgrade, never an older log.
    static let sealingMarks: Set<String> = ["created", "sealed"]

    /// One compact JSON object with keys in byte order. Written by hand because this runs twice
    /// per gateway request, and Foundation's sorted-keys serialisation compares keys through ICU.
    static func json(_ record: [String: AuditValue]) -> String {
        var out = "{"
        for (index, key) in record.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
            if index > 0 { out += "," }
            appendString(key, to: &out)
            out += ":"
            switch record[key]! {
            case .string(let value): appendString(value, to: &out)
            case .int(let value): out += String(value)
            case .bool(let value): out += value ? "true" : "false"
            case .double(let value):
                let rounded = (value * 1000).rounded() / 1000
                out += rounded.isFinite ? String(rounded) : "null"
            }
        }
        return out + "}"
    }

    static func appendString(_ value: String, to out: inout String) {
        out += "\""
        // Most values (paths, names, rules) need no escaping: append them whole.
        if !value.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0x7F }) {
            out += value
            out += "\""
            return
        }
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
