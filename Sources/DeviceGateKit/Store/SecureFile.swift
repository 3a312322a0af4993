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

/// File operations with the guarantees the store promises: private modes, writes that are
/// either wholly there or not at all, and no symbolic links.
///
/// Every file devicegate keeps in its data directory (tokens, the generated key, locks, the
/// bot's offset) is opened here, with `O_NOFOLLOW` and `O_CLOEXEC`: a link planted in the
/// directory would otherwise point a read, a lock or a write at a file of the attacker's choosing
/// (another user's file through a shared directory, a key file swapped for a known one). A link
/// is refused with ``StoreError/symbolicLink(path:)``; so is anything but a regular file. The
/// directory itself may be a link (a volume mounted elsewhere). Package-wide, so the bot's
/// offset file is written the same way.
package enum SecureFile {
    /// Opens a file of the data directory, never through a symbolic link and never into a child
    /// process. `O_NONBLOCK` keeps a FIFO planted at the path from hanging the open; the
    /// descriptor is switched back to blocking once it is known to be a regular file.
    package static func open(_ path: String, _ flags: Int32, mode: mode_t = 0o600, operation: String) throws -> Int32 {
        let fd = Glibc.open(path, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, mode)
        guard fd >= 0 else {
            let code = errno
            if code == ELOOP || code == EMLINK, isSymbolicLink(path) { throw StoreError.symbolicLink(path: path) }
            throw StoreError.io(path: path, operation: operation, errno: code)
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let code = errno
            close(fd)
            throw StoreError.io(path: path, operation: "inspect", errno: code)
        }
        guard st.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw StoreError.notARegularFile(path: path)
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return fd
    }

    static func isSymbolicLink(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFLNK
    }

    /// Creates the directory 0700 if missing; refuses one that others can reach.
    static func ensurePrivateDirectory(_ path: String) throws {
        var info = stat()
        if stat(path, &info) != 0 {
            guard errno == ENOENT else { throw StoreError.io(path: path, operation: "inspect", errno: errno) }
            let parent = PathComponents.parent(of: path)
            if !parent.isEmpty, parent != path {
                try? FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            }
            if mkdir(path, 0o700) != 0, errno != EEXIST { throw StoreError.io(path: path, operation: "create", errno: errno) }
            return
        }
        try requirePrivate(path, info: info, isDirectory: true)
    }

    /// ssh's rule: no group or other permission bits.
    static func requirePrivate(_ path: String, info: stat? = nil, isDirectory: Bool = false) throws {
        var st = stat()
        if let info {
            st = info
        } else if stat(path, &st) != 0 {
            throw StoreError.io(path: path, operation: "inspect", errno: errno)
        }
        let mode = st.st_mode & 0o777
        // ssh's other rule: the file must be ours (or root's, as a mounted secret may be).
        if st.st_uid != geteuid(), st.st_uid != 0 {
            throw StoreError.insecurePermissions(
                path: path, mode: String(mode, radix: 8),
                fix: "it belongs to user id \(st.st_uid), not to this user (\(geteuid())); chown it")
        }
        if mode & 0o077 != 0 {
            throw StoreError.insecurePermissions(
                path: path, mode: String(mode, radix: 8), fix: "chmod \(isDirectory ? "700" : "600") \(path)")
        }
    }

    /// The file's bytes, or nil when there is none; refuses a file others can read.
    /// - Parameter followingLinks: only for a file named from outside the data directory
    ///   (`DEVICEGATE_KEY_FILE`): Kubernetes mounts its secrets as symbolic links.
    package static func read(_ path: String, followingLinks: Bool = false) throws -> Data? {
        let fd: Int32
        do {
            if followingLinks {
                fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
                if fd < 0 { throw StoreError.io(path: path, operation: "open", errno: errno) }
            } else {
                fd = try open(path, O_RDONLY, operation: "open")
            }
        } catch StoreError.io(_, _, let code) where code == ENOENT {
            return nil
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw StoreError.io(path: path, operation: "inspect", errno: errno) }
        try requirePrivate(path, info: st)
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw StoreError.io(path: path, operation: "read", errno: errno)
            }
            if n == 0 { break }
            data.append(contentsOf: buffer[0..<n])
        }
        return data
    }

    /// Temp file in the same directory, fsync, rename over the target, fsync the directory:
    /// a crash or a cancelled task leaves the old file or the new one, never half of either.
    /// A symbolic link at `path` is refused rather than replaced: something planted it, and a
    /// person should look before it goes.
    package static func writeAtomically(_ data: Data, to path: String, exclusive: Bool = false) throws {
        let directory = PathComponents.parent(of: path)
        let name = PathComponents.last(of: path)
        if isSymbolicLink(path) { throw StoreError.symbolicLink(path: path) }
        let temp = "\(directory)/.\(name).\(UInt32.random(in: 0...UInt32.max)).tmp"
        let fd = try open(temp, O_WRONLY | O_CREAT | O_EXCL, operation: "create")
        var ok = false
        defer { if !ok { unlink(temp) } }
        do {
            defer { close(fd) }
            try data.withUnsafeBytes { raw in
                var offset = 0
                while offset < raw.count {
                    let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw StoreError.io(path: temp, operation: "write", errno: errno)
                    }
                    offset += n
                }
            }
            guard fsync(fd) == 0 else { throw StoreError.io(path: temp, operation: "sync", errno: errno) }
        }
        if exclusive {
            // Create-if-absent, atomically: link fails when the target exists.
            guard link(temp, path) == 0 else { throw StoreError.io(path: path, operation: "create", errno: errno) }
            unlink(temp)
        } else {
            guard rename(temp, path) == 0 else { throw StoreError.io(path: path, operation: "replace", errno: errno) }
        }
        ok = true
        let dfd = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            fsync(dfd)
            close(dfd)
        }
    }

    package static func remove(_ path: String) throws -> Bool {
        if unlink(path) == 0 { return true }
        if errno == ENOENT { return false }
        throw StoreError.io(path: path, operation: "delete", errno: errno)
    }
}
