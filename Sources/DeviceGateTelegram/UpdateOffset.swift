import Foundation

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
    public func load(botID: Int64) -> Int? {
        guard let data = FileManager.default.contents(atPath: path),
            let contents = try? JSONDecoder().decode(Contents.self, from: data), contents.botID == botID
        else { return nil }
        return contents.offset
    }

    /// Written to a temporary file and renamed, so a crash leaves the old offset or the new one.
    public func save(botID: Int64, offset: Int) throws {
        let data = try JSONEncoder().encode(Contents(botID: botID, offset: offset))
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let temporary = path + ".tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary])
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            try? FileManager.default.removeItem(atPath: temporary)
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        }
    }
}
