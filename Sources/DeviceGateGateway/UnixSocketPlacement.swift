import DeviceGateKit

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// Puts the gateway's Unix socket at a path without ever exposing it to other users and without
/// removing anything but a stale socket.
///
/// The socket is bound inside a fresh 0700 directory next to the path, made 0600, and only then
/// renamed into place, so there is no moment at which it exists with the default mode. What is
/// at the path already is replaced only if it is a socket nobody answers on; a directory, a
/// file, a link or a live socket is refused.
struct UnixSocketPlacement: Sendable {
    let path: String
    /// Where the server binds; renamed to ``path`` by ``publish()``.
    let bindPath: String
    private let directory: String

    struct Refused: Error, CustomStringConvertible {
        let description: String
    }

    init(path: String) throws {
        self.path = path
        var st = stat()
        if lstat(path, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFSOCK else {
                throw Refused(description: "\(path) exists and is not a socket; refusing to replace it (remove it yourself if it is yours)")
            }
            guard !Self.answers(path) else {
                throw Refused(description: "\(path) is a live socket: another gateway is listening there")
            }
            guard unlink(path) == 0 else {
                throw Refused(description: "cannot remove the stale socket \(path): \(String(cString: strerror(errno)))")
            }
        }
        let parent = PathComponents.parent(of: path)
        var template = Array(((parent.isEmpty ? "." : parent) + "/.devicegate-socket-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else {
            throw Refused(description: "cannot create a private directory next to \(path): \(String(cString: strerror(errno)))")
        }
        directory = String(cString: made)
        bindPath = directory + "/s"
        guard bindPath.utf8.count < 108 else {
            rmdir(directory)
            throw Refused(description: "the socket path \(path) is too long for a Unix socket")
        }
    }

    /// Called once the server is bound: mode 0600, then into place.
    func publish() throws {
        defer { rmdir(directory) }
        guard chmod(bindPath, 0o600) == 0, rename(bindPath, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(bindPath)
            throw Refused(description: "cannot put the socket at \(path): \(reason)")
        }
    }

    /// Whether something accepts connections on a socket path.
    static func answers(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0 }
        }
    }
}
