import Crypto
import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A value an audit record may hold. There is no case for a ``Secret``: nothing that holds a
/// token can be written here.
public enum AuditValue: Sendable, Equatable {
    case string(String)
    case int(Int)
    case double(Double)
    case bool(Bool)
}

/// An append-only JSON-lines record of sign-ins, refreshes, proxied calls, denials and breaker
/// events, each line chained to the one before it.
///
/// Every line carries `prev`, the HMAC-SHA-256 of the previous line under a key derived from the
/// store key, and a sidecar `.head` file holds the last line's HMAC and the line count. Editing,
/// inserting or deleting any line, including the last, breaks the chain, and without the store
/// key the chain cannot be recomputed. Appends from several processes are serialised with
/// `flock(2)`.
public actor AuditLog {
    public nonisolated let path: String
    private let key: SymmetricKey
    private var fd: Int32 = -1
    private var headFD: Int32 = -1
    private var head = AuditLog.genesis
    private var count = 0
    private var knownSize: Int64 = -1
    private let formatter: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()

    static let genesis = String(repeating: "0", count: 64)

    public init(path: String, storeKey: StoreKey) {
        self.path = path
        self.key = Self.auditKey(storeKey)
    }

    static func auditKey(_ storeKey: StoreKey) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(inputKeyMaterial: storeKey.key, info: Data("devicegate audit log v1".utf8), outputByteCount: 32)
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Appends one record. Throws if it could not be written: callers that act on behalf of an
    /// agent must then refuse to act.
    public func record(_ event: String, _ fields: [String: AuditValue]) throws {
        try open()
        guard flock(fd, LOCK_EX) == 0 else { throw Failure(description: "cannot lock the audit log \(path)") }
        defer { flock(fd, LOCK_UN) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw Failure(description: "cannot inspect the audit log \(path)") }
        if Int64(st.st_size) != knownSize { try resync(size: Int64(st.st_size)) }
        var record = fields
        record["time"] = .string(formatter.string(from: Date()))
        record["event"] = .string(event)
        record["prev"] = .string(head)
        let data = Data(Self.jsonLine(record).utf8)
        let line = data + Data([0x0A])
        let written = line.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == line.count else {
            throw Failure(description: "cannot write the audit log \(path): \(String(cString: strerror(errno)))")
        }
        head = Self.mac(data, key: key)
        count += 1
        knownSize = Int64(st.st_size) + Int64(line.count)
        writeHead()
    }

    private func open() throws {
        guard fd < 0 else { return }
        let directory = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw Failure(description: "cannot open the audit log \(path): \(String(cString: strerror(errno)))") }
        headFD = Glibc.open(path + ".head", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
    }

    /// Another process appended (or this is the first write): find the chain's head on disk.
    /// The last line is read from the end of the file and checked against `.head`; only when
    /// they disagree (an old log, or one written by a crashed process) is the whole file read.
    private func resync(size: Int64) throws {
        defer { knownSize = size }
        guard size > 0 else {
            (count, head) = (0, Self.genesis)
            return
        }
        if let last = Self.lastLine(fd: Glibc.open(path, O_RDONLY | O_CLOEXEC), size: size),
            let recorded = try? String(contentsOfFile: path + ".head", encoding: .utf8)
        {
            let parts = recorded.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            let mac = Self.mac(Data(last.utf8), key: key)
            if parts.count == 2, let n = Int(parts[0]), parts[1] == mac {
                (count, head) = (n, mac)
                return
            }
        }
        let lines = try Self.lines(path)
        count = lines.count
        head = lines.last.map { Self.mac(Data($0.utf8), key: key) } ?? Self.genesis
    }

    /// The file's last complete line, from at most its last 64 KiB; closes `fd`.
    static func lastLine(fd: Int32, size: Int64) -> String? {
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        let length = Int(min(size, 65536))
        var buffer = [UInt8](repeating: 0, count: length)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, length, off_t(size) - off_t(length)) }
        guard n == length else { return nil }
        var end = n
        while end > 0, buffer[end - 1] == 0x0A { end -= 1 }
        guard let start = buffer[0..<end].lastIndex(of: 0x0A).map({ $0 + 1 }) ?? (length == size ? 0 : nil) else { return nil }
        return String(decoding: buffer[start..<end], as: UTF8.self)
    }

    private func writeHead() {
        guard headFD >= 0 else { return }
        let text = Array("\(count) \(head)\n".utf8)
        _ = text.withUnsafeBytes { pwrite(headFD, $0.baseAddress, $0.count, 0) }
        ftruncate(headFD, off_t(text.count))
    }

    static func mac(_ line: Data, key: SymmetricKey) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var hex = [UInt8]()
        hex.reserveCapacity(64)
        for byte in HMAC<SHA256>.authenticationCode(for: line, using: key) {
            hex.append(digits[Int(byte >> 4)])
            hex.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: hex, as: UTF8.self)
    }

    /// One compact JSON object with keys in byte order. Written by hand because this runs twice
    /// per gateway request, and Foundation's sorted-keys serialisation compares keys through ICU.
    static func jsonLine(_ record: [String: AuditValue]) -> String {
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

    static func lines(_ path: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    // MARK: reading

    public struct Verification: Sendable {
        public let lines: Int
        /// 1-based line number and what is wrong, or nil when the chain is intact.
        public let problem: (line: Int, reason: String)?
        public var isIntact: Bool { problem == nil }
    }

    /// Walks the chain and compares its end with the `.head` file.
    public static func verify(path: String, storeKey: StoreKey) throws -> Verification {
        let key = auditKey(storeKey)
        let lines = try lines(path)
        var previous = genesis
        for (index, line) in lines.enumerated() {
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                return Verification(lines: lines.count, problem: (index + 1, "not a JSON record"))
            }
            guard object["prev"] as? String == previous else {
                return Verification(
                    lines: lines.count,
                    problem: (
                        index + 1,
                        index == 0
                            ? "the first record does not start the chain (records before it were deleted)"
                            : "the chain breaks here: this line or the one before it was edited, inserted or deleted"
                    ))
            }
            previous = mac(Data(line.utf8), key: key)
        }
        if let headText = try? String(contentsOfFile: path + ".head", encoding: .utf8) {
            let parts = headText.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            if parts.count == 2, parts[0] != String(lines.count) || parts[1] != previous {
                return Verification(
                    lines: lines.count,
                    problem: (
                        lines.count,
                        "the log ends differently than recorded in \(path).head (\(parts[0]) lines): lines at the end were edited or deleted"
                    ))
            }
        } else if !lines.isEmpty {
            return Verification(lines: lines.count, problem: (lines.count, "\(path).head is missing"))
        }
        return Verification(lines: lines.count, problem: nil)
    }

    /// Records, oldest first, optionally only since a time and for one profile.
    public static func read(path: String, since: Date? = nil, profile: String? = nil) throws -> [[String: Any]] {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return try lines(path).compactMap { line in
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else { return nil }
            if let profile, object["profile"] as? String != profile { return nil }
            if let since, let time = (object["time"] as? String).flatMap(formatter.date(from:)), time < since { return nil }
            return object
        }
    }
}
