import DeviceGateKit
import DeviceGateTelegram
import DeviceGateTestSupport
import Foundation
import Testing

/// The bot's offset file lives in the data directory and is kept as the store's files are.
@Suite struct UpdateOffsetTests {
    @Test func theOffsetIsPrivateAndBoundToTheBot() throws {
        let dir = TemporaryDirectory("offset")
        defer { dir.remove() }
        let file = UpdateOffsetFile(path: dir.file("telegram-bot.json"))
        #expect(try file.load(botID: 1) == nil)
        try file.save(botID: 1, offset: 42)
        #expect(try file.load(botID: 1) == 42)
        #expect(try file.load(botID: 2) == nil, "another bot's offset means nothing")
        let mode = try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func aLinkAtTheOffsetFileIsRefusedNotFollowed() throws {
        let dir = TemporaryDirectory("offset")
        defer { dir.remove() }
        let victim = dir.write("victim", "{\"bot_id\":1,\"offset\":7}")
        let path = dir.file("telegram-bot.json")
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: victim)
        let file = UpdateOffsetFile(path: path)
        func isLinkError(_ error: any Error) -> Bool {
            if case StoreError.symbolicLink(path) = error { true } else { false }
        }
        #expect { _ = try file.load(botID: 1) } throws: { isLinkError($0) }
        #expect { try file.save(botID: 1, offset: 43) } throws: { isLinkError($0) }
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "{\"bot_id\":1,\"offset\":7}")
    }
}
