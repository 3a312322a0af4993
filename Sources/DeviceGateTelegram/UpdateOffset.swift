import DeviceGateKit

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The bot's `getUpdates` offset on disk, so a restart neither replays commands already
/// handled nor loses those sent while it was down.
///
/// Telegram forgets an update only when `getUpdates` is next called with a higher offset, and
/// update ids may jump after a quiet week, so the offset is kept rather than guessed. It is
/// bound to the bot's id: another bot's offset means nothing.
public struct UpdateOffsetFile: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    struct Contents: Codable {
        var botID: Int64
        var offset: Int
        enum CodingKeys: String, CodingKey {
            case botID = "bot_id"
            case offset
        }
    }

    /// The next offset for this bot, or nil on a first start (or after a change of bot).
    /// Throws when the file is there but unsafe to read: a symbolic link, or open to others.
    public func load(botID: Int64) throws -> Int? {
        guard let data = try SecureFile.read(path),
            let contents = try? JSONDecoder().decode(Contents.self, from: data), contents.botID == botID
        else { return nil }
        return contents.offset
    }

    /// Written as the store's files are (temporary file, fsync, rename, never through a
    /// symbolic link), so a crash leaves the old offset or the new one.
    public func save(botID: Int64, offset: Int) throws {
        let data = try JSONEncoder().encode(Contents(botID: botID, offset: offset))
        let directory = PathComponents.parent(of: path)
        if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        try SecureFile.writeAtomically(data, to: path)
    }
}
