import DeviceGateKit
import DeviceGateTelegram
import DeviceGateTestSupport
import Foundation
import Testing

/// One update devicegate cannot read must not stop the bot: each is decoded on its own,
/// skipped with its id and the field at fault (never its content), and the offset moves past it.
@Suite struct UpdateDecodingTests {
    /// A message as Telegram sends it, with `chat` and `date` replaceable.
    static func message(_ id: Int, text: String, chat: String = #"{"id":4242,"type":"private"}"#, date: String = "1700000000")
        -> String
    {
        #"{"update_id":\#(id),"message":{"message_id":\#(id),"date":\#(date),"text":"\#(text)","#
            + #""from":{"id":4242,"is_bot":false,"first_name":"Alice"},"chat":\#(chat)}}"#
    }

    @Test func oddUpdatesAreSkippedTheGoodOneIsAnsweredAndTheOffsetMovesOn() async throws {
        let chat = try await Chat.start()
        defer { Task { await chat.finish() } }
        // One batch: each odd kind, a good /status in the middle, an odd one last (the highest id).
        let withoutChat = chat.fake.receiveRaw {
            #"{"update_id":\#($0),"message":{"message_id":1,"date":1700000000,"text":"/help PRIVATE-WORDS-1"}}"#
        }
        let stringChatID = chat.fake.receiveRaw { Self.message($0, text: "/help PRIVATE-WORDS-2", chat: #"{"id":"4242"}"#) }
        let hugeChatID = chat.fake.receiveRaw {
            Self.message($0, text: "/help PRIVATE-WORDS-3", chat: #"{"id":92233720368547758070,"type":"private"}"#)
        }
        let newType = chat.fake.receiveRaw { #"{"update_id":\#($0),"message_reaction":{"chat":{"id":4242},"new_reaction":[]}}"# }
        chat.fake.receiveRaw { _ in #"{"update_id":"PRIVATE-WORDS-4","message":{}}"# }
        chat.fake.receiveRaw { _ in "[17]" }
        let status = chat.fake.receiveRaw {
            Self.message($0, text: "/status", chat: #"{"id":4242,"type":"private","is_forum":false,"future_field":{"x":[1]}}"#)
                .replacingOccurrences(of: #""text""#, with: #""entities":[{"type":"bot_command","offset":0,"length":7}],"text""#)
        }
        let fractionalDate = chat.fake.receiveRaw { Self.message($0, text: "/help PRIVATE-WORDS-5", date: "1700000000.5") }

        let bot = RunningBot(try chat.bot())
        try await chat.fake.wait(for: "the status answer") { !$0.messages.isEmpty }
        try await chat.fake.wait(for: "the batch confirmed") { $0.getUpdatesOffsets.contains(fractionalDate + 1) }
        #expect(chat.texts() == ["No profiles are configured yet: add a [profiles.NAME] table to devicegate's config.toml."])

        // And it keeps answering.
        chat.fake.receive("/profiles", chatID: Chat.id)
        try await chat.fake.wait(for: "a later answer") { $0.messages.count == 2 }
        try await chat.fake.wait(for: "all updates confirmed") { $0.pending.isEmpty }
        try await bot.stop()

        let log = chat.log.text
        #expect(log.contains("skipped update \(withoutChat): message.chat is missing"), "\(log)")
        #expect(log.contains("skipped update \(stringChatID): message.chat.id is not a whole number"))
        #expect(log.contains("skipped update \(hugeChatID): a number in it is out of range or not whole"))
        #expect(log.contains("skipped update \(fractionalDate): a number in it is out of range or not whole"))
        #expect(log.contains("skipped an update without a readable id: update_id is not a whole number"))
        #expect(log.contains("skipped an update without a readable id: the update is not an object"))
        #expect(!log.contains("skipped update \(newType)"), "an unknown update type is not an error")
        #expect(!log.contains("skipped update \(status)"))
        #expect(!log.contains("PRIVATE-WORDS"), "a skipped update's content never reaches the log")
        #expect(chat.time.sleeps.isEmpty, "no backoff: the batch was read")
        #expect(try UpdateOffsetFile(path: chat.dir.file("data/telegram-bot.json")).load(botID: FakeBotAPI.botID) == status + 3)
    }

    @Test func aBatchWithNoReadableIDIsWaitedOutNotSpunOn() async throws {
        let chat = try await Chat.start()
        defer { Task { await chat.finish() } }
        chat.fake.receiveRaw { _ in #"{"update_id":1.5,"message":{"text":"PRIVATE-WORDS"}}"# }
        chat.fake.receiveRaw { _ in #"{"update_id":-3}"# }
        let bot = RunningBot(try chat.bot())
        try await chat.fake.wait(for: "four polls") { $0.getUpdatesOffsets.count >= 4 }
        try await bot.stop()

        #expect(Array(chat.time.sleeps.prefix(3)) == [1, 2, 4], "backs off as for an outage")
        let said = chat.log.all.filter { $0.contains("without a readable update_id") }
        #expect(said.count == 1, "said once, not on every poll")
        #expect(said.first?.contains("Telegram sent 2 update(s) without a readable update_id, which cannot be confirmed") == true)
        #expect(chat.log.text.contains("skipped an update without a readable id: update_id has a value out of range or malformed"))
        #expect(!chat.log.text.contains("PRIVATE-WORDS"))
    }

    /// Found beside the fuzzing: flood control's retry_after is Telegram's number, slept as is.
    @Test func anAbsurdRetryAfterDoesNotStopTheBotForGood() async throws {
        let chat = try await Chat.start()
        defer { Task { await chat.finish() } }
        chat.fake.script("getUpdates", [FakeBotAPI.error(429, "Too Many Requests", retryAfter: 1_000_000_000_000_000)])
        chat.fake.receive("/help", chatID: Chat.id)
        let bot = RunningBot(try chat.bot())
        try await chat.fake.wait(for: "the help text") { !$0.messages.isEmpty }
        try await bot.stop()
        #expect(chat.time.sleeps == [600])
    }

    @Test func eachUpdateDecodesOnItsOwn() throws {
        let batch = try UpdateBatch(
            resultJSON: Data(
                """
                [\(Self.message(7, text: "/help")),
                 {"update_id":8,"edited_message":{"message_id":1}},
                 {"update_id":9,"message":{"message_id":2,"date":1,"chat":{"id":-18446744073709551616}}},
                 {"update_id":9223372036854775807,"message":{"message_id":3,"date":1,"chat":{"id":1}}},
                 {"update_id":3},
                 null]
                """.utf8))
        #expect(batch.updates.map(\.updateID) == [7, 8, 3])
        #expect(batch.updates.first?.message?.text == "/help")
        #expect(batch.updates[1].message == nil, "an update type devicegate does not read")
        #expect(
            batch.skipped == [
                .init(updateID: 9, reason: "a number in it is out of range or not whole"),
                .init(updateID: nil, reason: "update_id has a value out of range or malformed"),
                .init(updateID: nil, reason: "the update is null, not an object"),
            ])
        #expect(batch.highestID == 9, "an id at Int.max cannot be passed, so it does not count")
        #expect(throws: DecodingError.self) { try UpdateBatch(resultJSON: Data(#"{"update_id":1}"#.utf8)) }
        #expect(try UpdateBatch(resultJSON: Data("[]".utf8)) == UpdateBatch())
    }
}
