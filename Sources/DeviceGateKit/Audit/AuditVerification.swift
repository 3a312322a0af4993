#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension AuditLog {
    /// The outcome of `audit verify`.
    public struct Verification: Sendable {
        public let lines: Int
        /// The chain's head as read (what a witness compares with); nil when the walk stopped early.
        public let head: AuditHead?
        /// 1-based line number and what is wrong, or nil when the chain is intact.
        public let problem: (line: Int, reason: String)?
        /// Things that are not wrong but weaken the proof (an older unsealed head).
        public let notes: [String]
        public var isIntact: Bool { problem == nil }
    }

    /// Walks the chain from the start, then checks its end against the sealed head and the
    /// store's marker and, if given, against a witness head received earlier.
    public static func verify(path: String, store: TokenStore, witness: AuditHead? = nil) throws -> Verification {
        let key = AuditLine.key(store.key)
        let marker = AuditMarker(logPath: path, storeDirectory: store.directory)
        let markerState = marker.state(key: key)
        let headText = try? String(contentsOfFile: path + ".head", encoding: .utf8)
        func problem(_ lines: Int, _ line: Int, _ reason: String) -> Verification {
            Verification(lines: lines, head: nil, problem: (line, reason), notes: [])
        }
        if markerState == .invalid {
            return problem(0, 0, "the store's marker \(marker.path) for this log is not sealed with the audit key")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            if markerState == .valid || headText != nil {
                return problem(0, 0, "the log is missing, but the store recorded that it was created: it was deleted")
            }
            return checked(Verification(lines: 0, head: AuditHead(count: 0, mac: AuditLine.genesis), problem: nil, notes: []), witness)
        }
        let walk = AuditChain.walk(data, key: key, witness: witness)
        if let found = walk.problem { return problem(walk.lines, found.line, found.reason) }
        let lines = walk.lines
        var notes: [String] = []
        switch headText.map({ SealedHead.parse($0, key: key) }) {
        case nil:
            if lines > 0 || markerState == .valid { return problem(lines, lines, "\(path).head is missing") }
        case .invalid(let why):
            return problem(lines, lines, "\(path).head: \(why)")
        case .legacy(let legacy):
            if markerState == .valid {
                return problem(
                    lines, lines, "\(path).head is in the old unsealed format, but the store recorded a sealed log: it was replaced")
            }
            if let sealedAt = walk.sealedAt {
                return problem(
                    lines, lines,
                    "\(path).head is in the old unsealed format, but line \(sealedAt) shows the log was sealed: the head was replaced (records at the end may have been cut)"
                )
            }
            if let found = compare(legacy, walk.head, lines: lines) { return problem(lines, found.line, found.reason) }
            notes.append(
                "the head is in the older, unsealed format (cutting records off the end is not detectable); the next record seals it")
        case .sealed(let sealed):
            if let found = compare(sealed.head, walk.head, lines: lines) { return problem(lines, found.line, found.reason) }
            if sealed.size != Int64(data.count) {
                return problem(lines, lines, "the file is \(data.count) bytes, but the sealed head records \(sealed.size)")
            }
        }
        if lines == 0, markerState == .valid {
            return problem(0, 0, "the log is empty, but the store recorded that it was created: it was emptied")
        }
        return Verification(lines: lines, head: walk.head, problem: nil, notes: notes)
    }

    private static func checked(_ verification: Verification, _ witness: AuditHead?) -> Verification {
        guard let witness, witness.count > 0 else { return verification }
        return Verification(
            lines: 0, head: nil,
            problem: (0, "the log is absent, but the witness head \(witness) vouches for \(witness.count) records: they were deleted"),
            notes: [])
    }

    /// Where the chain's end and its head disagree, as the first line the head does not vouch for.
    private static func compare(_ recorded: AuditHead, _ found: AuditHead, lines: Int) -> (line: Int, reason: String)? {
        if recorded.count < lines {
            return (
                recorded.count + 1,
                "the head vouches for \(recorded.count) records; this line and those after it were appended without the key (or a writer stopped between writing a record and its head)"
            )
        }
        if recorded.count > lines {
            return (lines, "the log ends at record \(lines), but its head records \(recorded.count): records at the end were deleted")
        }
        if recorded.mac != found.mac {
            return (lines, "the last record is not the one its head records: it was edited or replaced")
        }
        return nil
    }

    /// Records, oldest first, optionally only since a time and for one profile.
    public static func records(path: String, since: Date? = nil, profile: String? = nil) throws -> [[String: JSONValue]] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return [UInt8](data).split(separator: 0x0A).compactMap { line in
            guard let object = JSONValue.parse(Data(line))?.object else { return nil }
            if let profile, object["profile"]?.string != profile { return nil }
            if let since, let time = object["time"]?.string.flatMap(AuditTime.date), time < since { return nil }
            return object
        }
    }

    /// ``records(path:since:profile:)`` with plain Swift values (`String`, `Int`, `Double`,
    /// `Bool`, arrays and dictionaries of them), for code that reads a field by its type.
    public static func read(path: String, since: Date? = nil, profile: String? = nil) throws -> [[String: Any]] {
        try records(path: path, since: since, profile: profile).map { $0.mapValues(\.plainValue) }
    }
}
