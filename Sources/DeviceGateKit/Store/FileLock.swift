#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// An exclusive `flock(2)` lock on a file, shared by every devicegate process on the machine.
///
/// Each acquisition opens its own file description, so two tasks in one process exclude each
/// other exactly as two processes do. Waiting polls with a cancellable sleep, so Ctrl-C never
/// hangs on a lock, and the kernel drops the lock if the holder dies. The lock file is opened
/// as every store file is (``SecureFile/open(_:_:mode:operation:)``): a symbolic link planted
/// at its path is refused, not followed to create or lock another file.
public final class FileLock: Sendable {
    private let fd: Int32
    public let path: String

    private init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    public static func acquire(_ path: String, timeout: Double = 60) async throws -> FileLock {
        let fd = try SecureFile.open(path, O_RDWR | O_CREAT, operation: "open the lock")
        let start = Date()
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            guard code == EWOULDBLOCK || code == EINTR else {
                close(fd)
                throw StoreError.io(path: path, operation: "lock", errno: code)
            }
            if Date().timeIntervalSince(start) > timeout {
                close(fd)
                throw StoreError.lockTimeout(path: path, seconds: Int(timeout))
            }
            do { try await Task.sleep(nanoseconds: 10_000_000) } catch {
                close(fd)
                throw error
            }
        }
        return FileLock(fd: fd, path: path)
    }

    public func release() {
        flock(fd, LOCK_UN)
        close(fd)
    }

    /// Runs `body` holding the lock, releasing it however `body` ends.
    public static func withLock<T: Sendable>(_ path: String, timeout: Double = 60, _ body: () async throws -> T) async throws -> T {
        let lock = try await acquire(path, timeout: timeout)
        defer { lock.release() }
        return try await body()
    }
}
