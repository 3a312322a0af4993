import Crypto
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// An append-only JSON-lines record of sign-ins, refreshes, logouts, proxied calls, denials and
/// breaker events, each line chained to the one before it.
///
/// Every line carries `prev`, the HMAC-SHA-256 of the previous line under a key derived from the
/// store key; the `.head` file beside the log holds the count, the last line's HMAC and the file
/// size, sealed with the same key (``SealedHead``); and a sealed marker in the store directory
/// says the log exists. Without the key no line can be edited, inserted, appended or cut off, and
/// the log cannot be deleted, without `audit verify` naming it.
///
/// A writer never continues from a file it did not write. It anchors once on the sealed head,
/// then keeps its own position (count, last HMAC, size, inode) and, before every append, checks
/// that the file still ends exactly there, or that whatever follows was appended by another
/// devicegate process (chained from its last line and covered by a newly sealed head). Anything
/// else puts it in a failed state: every later ``record(_:_:durable:)`` throws, and `onFailure`
/// is told once, so the gateway refuses to forward and alerts the person. Appends from several
/// processes are serialised with `flock(2)`.
///
/// Within a process there is one writer at a time and no writer thread: the caller that finds
/// no write under way writes, for itself and for every record that arrives meanwhile, in batches
/// (group commit), then hands over. An event loop that records a call thus writes its line on
/// its own thread, as nginx writes its access log, instead of waking another thread and waiting
/// to be woken back; under load the batches grow and the syscalls are shared. The file state is
/// touched only with `state` held (hence unchecked `Sendable`).
public final class AuditLog: @unchecked Sendable {
    public let path: String
    private let key: SymmetricKey
    private let marker: AuditMarker
    private let onFailure: @Sendable (String) async -> Void
    private var fd: Int32 = -1
    private var headFD: Int32 = -1
    /// Where this writer knows the file ends; nil until the first record anchors it.
    private var position: Position?
    private var failure: Failure?
    /// Records waiting for the writer, whether a caller is writing, and whether an event loop
    /// will write them at the end of its turn.
    private let queue = NIOLockedValueBox<(pending: [Pending], writing: Bool, flushScheduled: Bool)>(([], false, false))
    /// Held while the file state (`fd`, `headFD`, `position`, `failure`) is read or changed.
    private let state = NIOLock()

    struct Position {
        var head: AuditHead
        var size: Int64
        /// The last line without its newline, compared with the file before each append.
        var lastLine: [UInt8]
        /// The store has no marker yet, or the head is unsealed (an older log): write both after the next record.
        var needsSealing: Bool
        /// Marks the first record of a log this writer creates (`created`) or adopts (`sealed`).
        var opening: String? = nil
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// - Parameters:
    ///   - store: its key seals the chain and the head; its directory holds the marker.
    ///   - onFailure: told once, with the reason, when the writer finds the log changed behind
    ///     its back and stops; the gateway alerts the person with it.
    public init(path: String, store: TokenStore, onFailure: @escaping @Sendable (String) async -> Void = { _ in }) {
        self.path = path
        self.key = AuditLine.key(store.key)
        self.marker = AuditMarker(logPath: path, storeDirectory: store.directory)
        self.onFailure = onFailure
    }

    /// `serve` makes a writer per auto sign-in: each must give its two descriptors back, or a
    /// long-running gateway runs out of them (found by the audit fuzz target).
    deinit {
        if fd >= 0 { close(fd) }
        if headFD >= 0 { close(headFD) }
    }

    /// Appends one record, returning once the batch it joined is written. Throws if it could
    /// not be written, or if the log was changed by anything but devicegate: callers that act on
    /// behalf of an agent must then refuse to act.
    ///
    /// - Parameter durable: `fdatasync` the batch and the head before returning, for records of
    ///   things that act (sign-ins, refreshes, logouts, breaker events); per-request records are
    ///   written (surviving the process) but not synced one by one.
    public func record(_ event: String, _ fields: [String: AuditValue], durable: Bool = false) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            submit(event, fields, durable: durable) { continuation.resume(with: $0) }
        }
    }

    /// Hands one record to the writer without waiting, for callers that cannot suspend (the
    /// gateway's event loops): `done` is called once the batch the record joined is written, or
    /// with the error that stopped it, on the thread of whichever caller wrote that batch,
    /// possibly this one before `submit` returns. It must not block.
    ///
    /// Group commit: if no caller is writing, this one writes every record waiting, batch after
    /// batch, until none waits; otherwise its record joins the writer's next batch. On an event
    /// loop the write waits for the end of the loop's turn (the calls it admitted meanwhile join
    /// it), still on that loop's thread. Each batch
    /// is one `write` and one sealed head, so concurrent callers share the syscalls and the lock;
    /// the chain is the same as with one record per write.
    public func submit(
        _ event: String, _ fields: [String: AuditValue], durable: Bool = false,
        done: @escaping @Sendable (Result<Void, any Error>) -> Void
    ) {
        var record = fields
        record["event"] = .string(event)
        let next = queue.withLockedValue { queue -> NextStep in
            queue.pending.append(Pending(record: record, durable: durable, done: done))
            if queue.writing || queue.flushScheduled { return .join }
            if let loop = MultiThreadedEventLoopGroup.currentEventLoop {
                queue.flushScheduled = true
                return .flushLater(loop)
            }
            queue.writing = true
            return .write
        }
        switch next {
        case .join: return  // the writer, or the flush already scheduled, takes it
        case .write: writeWaiting()
        case .flushLater(let loop):
            // On an event loop: write once the loop has handled what woke it, so every call it
            // admitted in that turn shares one batch, still on this thread.
            loop.execute { self.flushScheduled() }
        }
    }

    private enum NextStep {
        case join, write
        case flushLater(any EventLoop)
    }

    private func flushScheduled() {
        let writes = queue.withLockedValue { queue in
            queue.flushScheduled = false
            guard !queue.writing, !queue.pending.isEmpty else { return false }
            queue.writing = true
            return true
        }
        if writes { writeWaiting() }
    }

    /// Writes batch after batch until no record waits, then hands over. Called by the one
    /// caller that set `writing`.
    private func writeWaiting() {
        while true {
            let batch = queue.withLockedValue { queue in
                defer { queue.pending = [] }
                if queue.pending.isEmpty { queue.writing = false }
                return queue.pending
            }
            guard !batch.isEmpty else { return }
            let result = state.withLock {
                Result { try append(batch.map(\.record), durable: batch.contains(where: \.durable)) }
            }
            for item in batch { item.done(result) }
        }
    }

    private struct Pending {
        let record: [String: AuditValue]
        let durable: Bool
        let done: @Sendable (Result<Void, any Error>) -> Void
    }

    private func append(_ records: [[String: AuditValue]], durable: Bool) throws {
        if let failure { throw failure }
        try open()
        guard flock(fd, LOCK_EX) == 0 else { throw Failure(description: "cannot lock the audit log \(path)") }
        defer { flock(fd, LOCK_UN) }
        let known = try check()
        var head = known.head
        var bytes = [UInt8]()
        var lastLine = known.lastLine
        let time = AuditValue.string(AuditTime.string(Date()))
        for (index, fields) in records.enumerated() {
            var record = fields
            if index == 0, let opening = known.opening { record["log"] = .string(opening) }
            record["time"] = time
            record["prev"] = .string(head.mac)
            lastLine = Array(AuditLine.json(record).utf8)
            head = AuditHead(count: head.count + 1, mac: AuditLine.mac(lastLine, key: key))
            bytes += lastLine
            bytes.append(0x0A)
        }
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            let reason = "cannot write the audit log \(path): \(String(cString: strerror(errno)))"
            // Part of a batch on disk would break the chain for every writer: stop here too.
            if written > 0 { throw fail(reason + " (part of a batch was left at its end)") }
            throw Failure(description: reason)
        }
        var next = Position(head: head, size: known.size + Int64(bytes.count), lastLine: lastLine, needsSealing: known.needsSealing)
        if durable, fdatasync(fd) != 0 { throw fail("cannot sync the audit log \(path): \(String(cString: strerror(errno)))") }
        try writeHead(next, durable: durable || next.needsSealing)
        if next.needsSealing {
            try marker.write(key: key)
            next.needsSealing = false
        }
        position = next
    }

    /// For commands that have already acted (the token is stored, the entry deleted): writes the
    /// record durably, and when that fails says so on stderr rather than undoing the act.
    public func recordOrWarn(_ event: String, _ fields: [String: AuditValue]) async {
        do { try await record(event, fields, durable: true) } catch {
            StandardError.write("devicegate: warning: could not write the audit log: \(error)")
        }
    }

    /// The chain's head as this writer last checked it, checked again now: what the witness sends.
    public func head() async throws -> AuditHead {
        try state.withLock {
            if let failure { throw failure }
            try open()
            guard flock(fd, LOCK_EX) == 0 else { throw Failure(description: "cannot lock the audit log \(path)") }
            defer { flock(fd, LOCK_UN) }
            return try check().head
        }
    }

    private func open() throws {
        guard fd < 0 else { return }
        let directory = PathComponents.parent(of: path)
        try? FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let log = Glibc.open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard log >= 0 else { throw Failure(description: "cannot open the audit log \(path): \(String(cString: strerror(errno)))") }
        let head = Glibc.open(path + ".head", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard head >= 0 else {
            close(log)
            throw Failure(description: "cannot open \(path).head: \(String(cString: strerror(errno)))")
        }
        (fd, headFD) = (log, head)
    }

    /// Enters the failed state (once) and returns the error to throw.
    private func fail(_ reason: String) -> Failure {
        if let failure { return failure }
        let failure = Failure(
            description:
                "the audit log \(path) cannot be trusted: \(reason). Nothing more is recorded, and the gateway forwards nothing, until a person checks it with `devicegate audit verify` and starts a new log with `devicegate audit rotate`"
        )
        self.failure = failure
        let onFailure = self.onFailure
        Task { await onFailure(failure.description) }
        return failure
    }

    /// Where the file ends now, provided it is where this writer left it or was extended by
    /// another devicegate writer; otherwise fails. Called holding the lock.
    private func check() throws -> Position {
        var opened = stat()
        var named = stat()
        guard fstat(fd, &opened) == 0 else { throw Failure(description: "cannot inspect the audit log \(path)") }
        guard lstat(path, &named) == 0, named.st_ino == opened.st_ino, named.st_dev == opened.st_dev else {
            throw fail("the file was deleted or replaced while this process was writing to it")
        }
        let size = Int64(opened.st_size)
        guard let known = position else {
            let anchored = try anchor(size: size)
            position = anchored
            return anchored
        }
        guard size >= known.size else {
            throw fail("it shrank from \(known.size) to \(size) bytes: records at its end were cut off")
        }
        guard lastLineIntact(known) else {
            throw fail("record \(known.head.count), the last one this process wrote, was edited")
        }
        if size == known.size { return known }
        let followed = try follow(from: known, to: size)
        position = followed
        return followed
    }

    /// The first record of this writer: trust the file only as far as the sealed head vouches.
    private func anchor(size: Int64) throws -> Position {
        let markerState = marker.state(key: key)
        if markerState == .invalid {
            throw fail("the store's marker \(marker.path) for it is not sealed with the audit key")
        }
        let head = readHead()
        if size == 0 {
            if markerState == .valid { throw fail("it is empty or was deleted, but the store recorded that it was created") }
            if case .sealed(let sealed) = head, sealed.head.count > 0 {
                throw fail("it is empty, but its head records \(sealed.head.count) records")
            }
            return Position(
                head: AuditHead(count: 0, mac: AuditLine.genesis), size: 0, lastLine: [], needsSealing: true, opening: "created")
        }
        switch head {
        case nil:
            throw fail("\(path).head is missing")
        case .invalid(let why):
            throw fail("\(path).head: \(why)")
        case .sealed(let sealed):
            guard sealed.size == size else {
                throw fail(
                    "it is \(size) bytes, but its sealed head records \(sealed.size): "
                        + (size < sealed.size ? "records at its end were cut off" : "something was appended without the key"))
            }
            guard let last = Self.lastLine(fd: fd, size: size), AuditLine.mac(last, key: key) == sealed.head.mac else {
                throw fail("its last line is not the one the sealed head records: it was edited or replaced")
            }
            return Position(head: sealed.head, size: size, lastLine: last, needsSealing: markerState == .absent)
        case .legacy(let legacy):
            guard markerState == .absent else {
                throw fail("its head is in the old unsealed format, but the store recorded a sealed log: the head was replaced")
            }
            // A log written before heads were sealed: walk it whole, once, then seal it.
            let data = FileManager.default.contents(atPath: path) ?? Data()
            let walk = AuditChain.walk(data, key: key)
            if let problem = walk.problem { throw fail("line \(problem.line): \(problem.reason)") }
            guard walk.head == legacy, Int64(data.count) == size, let last = walk.lastLine else {
                throw fail("its end does not match its head")
            }
            if let sealedAt = walk.sealedAt {
                throw fail("its head is in the old unsealed format, but line \(sealedAt) shows it was sealed: the head was replaced")
            }
            return Position(head: legacy, size: size, lastLine: Array(last), needsSealing: true, opening: "sealed")
        }
    }

    /// Another devicegate process appended since this writer's last record: accept exactly the
    /// lines that continue this writer's chain and that a newly sealed head covers.
    private func follow(from known: Position, to size: Int64) throws -> Position {
        guard case .sealed(let sealed) = readHead(), sealed.size == size else {
            throw fail("something was appended after record \(known.head.count) that no sealed head covers (not written by devicegate)")
        }
        let length = Int(size - known.size)
        var buffer = [UInt8](repeating: 0, count: length)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, length, off_t(known.size)) }
        guard n == length, buffer.last == 0x0A else { throw fail("what follows record \(known.head.count) does not end a line") }
        var head = known.head
        var lastLine = known.lastLine
        for line in buffer.dropLast().split(separator: 0x0A, omittingEmptySubsequences: false) {
            guard !line.isEmpty else { throw fail("line \(head.count + 1) is blank") }
            guard AuditLine.prev(of: line) == head.mac else {
                throw fail("line \(head.count + 1) does not continue the chain after record \(head.count)")
            }
            head = AuditHead(count: head.count + 1, mac: AuditLine.mac(line, key: key))
            lastLine = Array(line)
        }
        guard head == sealed.head else { throw fail("the sealed head does not match the lines after record \(known.head.count)") }
        return Position(head: head, size: size, lastLine: lastLine, needsSealing: known.needsSealing)
    }

    /// Whether the bytes before `known.size` still end with the line this writer last knew
    /// (the newline before it included), byte for byte.
    private func lastLineIntact(_ known: Position) -> Bool {
        guard known.size > 0 else { return true }
        let start = known.size - Int64(known.lastLine.count) - 1
        guard start >= 0 else { return false }
        let withBefore = start > 0
        let expected = (withBefore ? [0x0A] : []) + known.lastLine + [0x0A]
        var buffer = [UInt8](repeating: 0, count: expected.count)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, expected.count, off_t(withBefore ? start - 1 : start)) }
        return n == expected.count && buffer == expected
    }

    private func readHead() -> SealedHead.Parsed? {
        var buffer = [UInt8](repeating: 0, count: 512)
        let n = buffer.withUnsafeMutableBytes { pread(headFD, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        return SealedHead.parse(String(decoding: buffer[0..<n], as: UTF8.self), key: key)
    }

    private func writeHead(_ position: Position, durable: Bool) throws {
        let text = Array(SealedHead(head: position.head, size: position.size).text(key: key).utf8)
        let written = text.withUnsafeBytes { pwrite(headFD, $0.baseAddress, $0.count, 0) }
        guard written == text.count, ftruncate(headFD, off_t(text.count)) == 0, !durable || fdatasync(headFD) == 0 else {
            throw fail("cannot write \(path).head: \(String(cString: strerror(errno)))")
        }
    }

    /// The file's last line without its newline; nil when the file does not end with one. Reads
    /// 64 KiB from the end, and more while no line starts there: a record as long as an agent
    /// can make one (a long denied path) must not make the log unreadable to the next writer.
    static func lastLine(fd: Int32, size: Int64) -> [UInt8]? {
        var window: Int64 = 65536
        while true {
            let length = Int(min(size, window))
            var buffer = [UInt8](repeating: 0, count: length)
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, length, off_t(size) - off_t(length)) }
            guard n == length, buffer.last == 0x0A else { return nil }
            let end = length - 1
            if let newline = buffer[0..<end].lastIndex(of: 0x0A) {
                return newline + 1 < end ? Array(buffer[(newline + 1)..<end]) : nil
            }
            if Int64(length) == size { return end > 0 ? Array(buffer[0..<end]) : nil }
            window *= 4
        }
    }
}
