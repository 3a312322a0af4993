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

/// Everything that can be wrong with the store, each naming the file and the fix.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    case insecurePermissions(path: String, mode: String, fix: String)
    case corrupted(path: String, reason: String, profile: String)
    case foreign(path: String, reason: String)
    case wrongKey(path: String, profile: String)
    case keyMissing(path: String, existingProfiles: [String])
    case badKeyFile(path: String, reason: String)
    case io(path: String, operation: String, errno: Int32)
    case lockTimeout(path: String, seconds: Int)
    /// A symbolic link where devicegate keeps a file of its own.
    case symbolicLink(path: String)
    /// A directory, FIFO, socket or device where devicegate keeps a file of its own.
    case notARegularFile(path: String)
    case invalidProfileName(String)

    public var description: String {
        switch self {
        case .insecurePermissions(let path, let mode, let fix):
            "\(path) is not private to this user (mode \(mode)); devicegate refuses to use it, as ssh does. Fix: \(fix)"
        case .corrupted(let path, let reason, let profile):
            "\(path) is damaged (\(reason)); nothing was changed. Delete the file (rm \(path)) and sign in again with `devicegate login \(profile)`, or restore it from a backup."
        case .foreign(let path, let reason):
            "\(path) is not a devicegate token file (\(reason)); nothing was changed. Move it out of the store directory."
        case .wrongKey(let path, let profile):
            "\(path) was encrypted with a different store key than the one in use; nothing was changed. Point DEVICEGATE_KEY_FILE at the original key, or delete the file and sign in again with `devicegate login \(profile)`."
        case .keyMissing(let path, let profiles):
            "the store key \(path) is missing, but tokens for \(profiles.joined(separator: ", ")) are stored with it. Restore the key file (or set DEVICEGATE_KEY_FILE); to start over, delete the .dgt files in its directory."
        case .badKeyFile(let path, let reason):
            "the store key \(path) is unusable: \(reason). Create one with `head -c 32 /dev/urandom | base64 > \(path) && chmod 600 \(path)`."
        case .io(let path, let operation, let code):
            "could not \(operation) \(path): \(String(cString: strerror(code)))"
        case .lockTimeout(let path, let seconds):
            "another devicegate process has held \(path) for over \(seconds) s; if none is running, the lock is stale: remove the file."
        case .symbolicLink(let path):
            "\(path) is a symbolic link; devicegate never follows links in its data directory, where one could point a read or a write at another file. Nothing was changed. Look at where it points (ls -l \(path)), then remove it (rm \(path)) or put the real file there."
        case .notARegularFile(let path):
            "\(path) is not a regular file (a directory, FIFO, socket or device); devicegate refuses to use it. Nothing was changed. Remove it or put the real file there."
        case .invalidProfileName(let name):
            "\"\(name)\" is not a valid profile name: use letters, digits, '.', '_' and '-' (up to 64, starting with a letter or digit)"
        }
    }
}

/// The one rule for a profile's name, wherever it is kept: it becomes a file name, so it must be
/// a safe one, and a database driver holds rows to the same rule.
public enum ProfileName {
    /// Throws ``StoreError/invalidProfileName(_:)`` for anything else.
    public static func validate(_ name: String) throws {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard (1...64).contains(name.count), name.allSatisfy(allowed.contains),
            let first = name.first, first.isLetter || first.isNumber
        else { throw StoreError.invalidProfileName(name) }
    }
}
