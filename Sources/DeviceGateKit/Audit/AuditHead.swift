import Crypto

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// Where a chain stands: how many records it holds and the HMAC of the last one. This is what
/// the witness sends out and what `audit verify --witness COUNT:MAC` takes back; it says nothing
/// about what the records contain.
public struct AuditHead: Sendable, Equatable, CustomStringConvertible {
    public let count: Int
    public let mac: String

    public init(count: Int, mac: String) {
        self.count = count
        self.mac = mac
    }

    /// Parses `COUNT:MAC` strictly: a count ≥ 0 and 64 lower-case hex digits (the genesis value
    /// for count 0), so a mistyped witness is refused rather than half-checked.
    public init?(witness text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let count = Int(parts[0]), count >= 0, String(count) == parts[0],
            parts[1].utf8.count == 64, parts[1].utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        else { return nil }
        guard count > 0 || parts[1] == AuditLine.genesis else { return nil }
        self.init(count: count, mac: String(parts[1]))
    }

    public var description: String { "\(count):\(mac)" }
}

/// The `.head` file beside the log: count, last MAC and file size, sealed with the audit key so
/// that cutting records off the end, and rewriting the head to match, needs the key.
///
/// Format: `v2 COUNT MAC SIZE TAG`, TAG the HMAC of `devicegate audit head v2 COUNT MAC SIZE`.
/// Lines are JSON objects, so no line's MAC can stand in for a head's tag. `v1` heads
/// (`COUNT MAC`, unauthenticated) were written before; they are accepted only for a log the
/// store has no marker for, and sealed by the next record.
struct SealedHead: Equatable {
    var head: AuditHead
    var size: Int64

    enum Parsed: Equatable {
        case sealed(SealedHead)
        case legacy(AuditHead)
        /// Present but not a valid head (edited, forged, or sealed with another key).
        case invalid(String)
    }

    static func message(_ head: AuditHead, size: Int64) -> String { "devicegate audit head v2 \(head.count) \(head.mac) \(size)" }

    func text(key: SymmetricKey) -> String {
        "v2 \(head.count) \(head.mac) \(size) \(AuditLine.mac(Data(Self.message(head, size: size).utf8), key: key))\n"
    }

    static func parse(_ text: String, key: SymmetricKey) -> Parsed {
        let parts = text.split(separator: " ").map { $0.trimmingWhitespaceAndNewlines() }
        if parts.count == 2, let count = Int(parts[0]), count >= 0 {
            return .legacy(AuditHead(count: count, mac: parts[1]))
        }
        guard parts.count == 5, parts[0] == "v2", let count = Int(parts[1]), count >= 0, let size = Int64(parts[3]), size >= 0 else {
            return .invalid("it is not a head this version writes")
        }
        let head = AuditHead(count: count, mac: parts[2])
        let expected = AuditLine.mac(Data(message(head, size: size).utf8), key: key)
        guard constantTimeEqual(expected, parts[4]) else {
            return .invalid("its seal does not match the audit key: it was edited or forged")
        }
        return .sealed(SealedHead(head: head, size: size))
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// A sealed note in the store directory that a log exists at a path, written when the log's
/// first record is, so that deleting the log (and its head) reads as a deletion, not as a
/// fresh install.
struct AuditMarker {
    let path: String
    let logPath: String

    init(logPath: String, storeDirectory: String) {
        let canonical = URL(fileURLWithPath: logPath).standardizedFileURL.path
        self.logPath = canonical
        let digest = Hex.lowercase(SHA256.hash(data: Data(canonical.utf8)).prefix(8))
        self.path = storeDirectory + "/.audit-\(digest).marker"
    }

    func text(key: SymmetricKey) -> String {
        "v1 \(AuditLine.mac(Data("devicegate audit marker v1 \(logPath)".utf8), key: key)) \(logPath)\n"
    }

    enum State: Equatable {
        case absent
        case valid
        case invalid
    }

    func state(key: SymmetricKey) -> State {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return errno == ENOENT ? .absent : .invalid }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 8192)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return .invalid }
        return String(decoding: buffer[0..<n], as: UTF8.self) == text(key: key) ? .valid : .invalid
    }

    func write(key: SymmetricKey) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            throw AuditLog.Failure(description: "cannot write the audit marker \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        let bytes = Array(text(key: key).utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count, fsync(fd) == 0 else {
            throw AuditLog.Failure(description: "cannot write the audit marker \(path): \(String(cString: strerror(errno)))")
        }
    }
}
