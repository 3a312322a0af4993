import Crypto

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Walks a whole log from the genesis value, line by line: the one reading of the chain that
/// `audit verify` and a writer adopting an older log share.
enum AuditChain {
    struct Walk {
        var lines = 0
        var head = AuditHead(count: 0, mac: AuditLine.genesis)
        var lastLine: ArraySlice<UInt8>?
        /// The first line recording that the log was created or adopted by a version that seals heads.
        var sealedAt: Int?
        /// 1-based line and what is wrong with it; the walk stops at the first.
        var problem: (line: Int, reason: String)?
    }

    /// - Parameter witness: a head received earlier; the walk checks that record `witness.count`
    ///   has exactly that HMAC.
    static func walk(_ data: Data, key: SymmetricKey, witness: AuditHead? = nil) -> Walk {
        var walk = Walk()
        let bytes = [UInt8](data)
        guard !bytes.isEmpty else { return checkWitness(walk, witness) }
        var pieces = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        let complete = bytes.last == 0x0A
        if complete { pieces.removeLast() }
        for (index, line) in pieces.enumerated() {
            let number = index + 1
            walk.lines = number
            if !complete, number == pieces.count {
                walk.problem = (number, "the last line is cut off (it does not end with a newline)")
                return walk
            }
            if line.isEmpty || line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
                walk.problem = (number, "a blank line: the log never holds one, so it was inserted or a record was blanked")
                return walk
            }
            guard let (prev, log) = AuditLine.fields(of: line) else {
                walk.problem = (number, "not a JSON record with a `prev` field")
                return walk
            }
            guard prev == walk.head.mac else {
                walk.problem = (
                    number,
                    number == 1
                        ? "the first record does not start the chain (records before it were deleted)"
                        : "the chain breaks here: this line or the one before it was edited, inserted or deleted"
                )
                return walk
            }
            if walk.sealedAt == nil, let log, AuditLine.sealingMarks.contains(log) { walk.sealedAt = number }
            walk.head = AuditHead(count: number, mac: AuditLine.mac(line, key: key))
            walk.lastLine = line
            if let witness, witness.count == number, witness.mac != walk.head.mac {
                walk.problem = (
                    number,
                    "record \(number) is not the one the witness head \(witness) names: the log up to here was rewritten with the key"
                )
                return walk
            }
        }
        return checkWitness(walk, witness)
    }

    private static func checkWitness(_ walk: Walk, _ witness: AuditHead?) -> Walk {
        guard let witness, witness.count > walk.lines else { return walk }
        var walk = walk
        walk.problem = (
            walk.lines,
            "the log ends at record \(walk.lines), but the witness head \(witness) vouches for \(witness.count) records: records \(walk.lines + 1)–\(witness.count) were deleted"
        )
        return walk
    }
}
