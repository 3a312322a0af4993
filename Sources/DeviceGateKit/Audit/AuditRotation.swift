#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

extension AuditLog {
    /// What `audit rotate` did: where the old log now is, and what verifying it found.
    public struct Rotation: Sendable {
        public let archivedPath: String?
        public let previous: Verification
    }

    /// Starts a new log: the current one (even a damaged one, which is what this is for) and its
    /// head are renamed aside, never deleted, and the new log's first record names the old
    /// file, its head and whether it verified. Needs the key, like every write. A writer still
    /// running (`serve`) sees its file replaced and stops, so stop it first.
    public static func rotate(path: String, store: TokenStore, by actor: [String: AuditValue]) async throws -> Rotation {
        let previous = try verify(path: path, store: store)
        var archived: String?
        let lockFD = Glibc.open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
        if lockFD >= 0 {
            defer { close(lockFD) }
            guard flock(lockFD, LOCK_EX) == 0 else { throw Failure(description: "cannot lock the audit log \(path)") }
            let stamp = InternetTime.string(Date()).replacing(":", with: "")
            let target = "\(path).\(stamp)"
            guard !FileManager.default.fileExists(atPath: target), rename(path, target) == 0 else {
                throw Failure(description: "cannot move \(path) aside to \(target): \(String(cString: strerror(errno)))")
            }
            if rename(path + ".head", target + ".head") != 0, errno != ENOENT {
                throw Failure(description: "cannot move \(path).head aside: \(String(cString: strerror(errno)))")
            }
            archived = target
        } else if FileManager.default.fileExists(atPath: path + ".head") {
            _ = rename(path + ".head", path + ".head.orphaned-\(Int(Date().timeIntervalSince1970))")
        }
        let marker = AuditMarker(logPath: path, storeDirectory: store.directory)
        if unlink(marker.path) != 0, errno != ENOENT {
            throw Failure(description: "cannot remove the audit marker \(marker.path): \(String(cString: strerror(errno)))")
        }
        var fields = actor
        fields["previous_file"] = .string(archived ?? "none")
        fields["previous_records"] = .int(previous.lines)
        fields["previous_intact"] = .bool(previous.isIntact)
        if let head = previous.head { fields["previous_head"] = .string(head.description) }
        if let problem = previous.problem { fields["previous_problem"] = .string("line \(problem.line): \(problem.reason)") }
        try await AuditLog(path: path, store: store).record("log_rotated", fields, durable: true)
        return Rotation(archivedPath: archived, previous: previous)
    }
}
