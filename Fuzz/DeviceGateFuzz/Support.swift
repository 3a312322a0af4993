import DeviceGateKit
import Foundation

/// Runs async code (JWTKit, actors, the HTTP-driven parsers) to the end from libFuzzer's
/// synchronous callback.
func runBlocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
    let box = Box<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        box.value = await body()
        done.signal()
    }
    done.wait()
    return box.value!
}

/// Written by one task, read after the semaphore: never at the same time.
final class Box<T>: @unchecked Sendable {
    var value: T?
}

/// Time that moves only when code sleeps, so retry loops end at once (as ManualTime in tests).
final class FuzzTime: TimeSource, @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    init(_ start: Date = FuzzFixtures.now) { current = start }

    func now() -> Date { lock.withLock { current } }

    /// A wait of a day or more (or NaN, or infinity) is a hang as far as a person can tell, and
    /// SystemTimeSource cannot even express the longest ones: a finding.
    func sleep(seconds: Double) async throws {
        if !(seconds < FuzzTime.longestWait) { fatalError("an input asked devicegate to wait \(seconds) s") }
        lock.withLock { current.addTimeInterval(max(0, seconds)) }
    }

    static let longestWait: Double = 86_400
}

/// Answers in-process: each request gets the next canned answer (or the one for its URL);
/// when they run out, the person gives up (Ctrl-C), which ends every loop that polls or retries.
final class CannedTransport: HTTPTransport, @unchecked Sendable {
    private let lock = NSLock()
    private var queue: [IncomingResponse]
    private let byURL: [String: IncomingResponse]

    init(_ queue: [IncomingResponse] = [], byURL: [String: IncomingResponse] = [:]) {
        self.queue = queue
        self.byURL = byURL
    }

    func send(_ request: OutgoingRequest) async throws -> IncomingResponse {
        if let answer = byURL[request.url.absoluteString] { return answer }
        let next: IncomingResponse? = lock.withLock { queue.isEmpty ? nil : queue.removeFirst() }
        guard let next else { throw CancellationError() }
        return next
    }
}

/// Reads structure (a status, a choice) off the front of an input, then hands out the rest.
struct InputReader {
    private var bytes: Data.SubSequence

    init(_ data: Data) { bytes = data[...] }

    mutating func byte() -> UInt8 {
        guard let first = bytes.first else { return 0 }
        bytes = bytes.dropFirst()
        return first
    }

    /// Up to the next newline (dropped), as text.
    mutating func line() -> String {
        let end = bytes.firstIndex(of: 0x0A) ?? bytes.endIndex
        let text = String(decoding: bytes[..<end], as: UTF8.self)
        bytes = end < bytes.endIndex ? bytes[bytes.index(after: end)...] : bytes[end...]
        return text
    }

    var rest: Data { Data(bytes) }
    var restText: String { String(decoding: bytes, as: UTF8.self) }

    /// The rest, split on `separator` into at most `limit` parts.
    func parts(separatedBy separator: String, limit: Int) -> [Data] {
        let text = restText
        return text.components(separatedBy: separator).prefix(limit).map { Data($0.utf8) }
    }
}

/// An HTTP answer as the network could deliver it, described by two bytes and a body.
enum FuzzResponse {
    static let statuses = [200, 201, 400, 401, 403, 404, 410, 429, 500, 503, 302, 204]
    static let mediaTypes: [String?] = [
        "application/json", "application/x-www-form-urlencoded", "text/plain", nil, "text/html",
        "application/json; charset=utf-8", "application/jwk-set+json", "TEXT/PLAIN; charset=UTF-8",
    ]

    /// `status byte, type byte, header line, body`; the header line becomes Retry-After and
    /// WWW-Authenticate, the two headers devicegate reads from these answers.
    static func read(_ reader: inout InputReader) -> IncomingResponse {
        let status = statuses[Int(reader.byte()) % statuses.count]
        let type = mediaTypes[Int(reader.byte()) % mediaTypes.count]
        let header = reader.line()
        var headers: [(name: String, value: String)] = []
        if let type { headers.append(("Content-Type", type)) }
        if !header.isEmpty {
            headers.append(("Retry-After", header))
            headers.append(("WWW-Authenticate", header))
        }
        return IncomingResponse(status: status, headers: headers, body: reader.rest)
    }
}

enum FuzzFixtures {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    /// A private directory for the targets that must read files (store key, audit log, Arc key).
    static let directory: String = {
        let path = NSTemporaryDirectory() + "devicegate-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return path
    }()

    /// A store with a fixed key (32 zero-free bytes, base64), made once per process.
    static let store: TokenStore = {
        let keyFile = directory + "/store.key"
        let material = Data((0..<32).map { UInt8($0 * 7 + 1) }).base64EncodedString() + "\n"
        _ = FileManager.default.createFile(atPath: keyFile, contents: Data(material.utf8), attributes: [.posixPermissions: 0o600])
        do {
            return try TokenStore(directory: directory + "/store", keyFile: keyFile)
        } catch {
            fatalError("fuzz setup: cannot open the fixed store: \(error)")
        }
    }()
}

/// What every caller may do with a parsed value without trapping.
enum FuzzChecks {
    /// `devicegate status`, the bot and the countdowns show an expiry as whole seconds from now.
    static func showable(_ date: Date?, _ what: String) {
        guard let date else { return }
        if Int(exactly: date.timeIntervalSince(FuzzFixtures.now).rounded()) == nil {
            fatalError("\(what) cannot be shown as seconds from now: \(date.timeIntervalSince1970)")
        }
    }
}
