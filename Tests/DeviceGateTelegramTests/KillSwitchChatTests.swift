import DeviceGateKit
import DeviceGateTelegram
import DeviceGateTestSupport
import Foundation
import Testing

/// `/freeze`, `/unfreeze` and `/kill` from the chat, against the Bot API double and a fake
/// identity provider.
@Suite struct KillSwitchChatTests {
    @Test func freezeShowsInStatusAndUnfreezeLiftsIt() async throws {
        let chat = try await Chat.start()
        let idp = try await FakeIdentityProvider.start()
        defer {
            Task {
                await chat.finish(); await idp.stop()
            }
        }
        let bot = RunningBot(try chat.bot(profiles: [idp.profile()]))
        let directory = chat.dir.file("data")

        chat.fake.receive("/freeze", chatID: Chat.id)
        try await chat.fake.wait(for: "the freeze") { $0.messages.contains { $0.text.hasPrefix("🧊 Frozen: work") } }
        let lock = try #require(ProfileLock.read("work", kind: .frozen, in: directory))
        #expect(lock.reason == "frozen by Alice (@alice)")
        #expect(ProfileLock.read("work", in: directory) == nil, "a freeze is not a breaker lock")

        chat.fake.receive("/status work", chatID: Chat.id)
        try await chat.fake.wait(for: "the status") { $0.messages.last?.text.hasPrefix("work (oidc)") == true }
        #expect(chat.texts().last?.contains("🧊 frozen by Alice (@alice) — /unfreeze work lifts it") == true)

        chat.fake.receive("/unfreeze work", chatID: Chat.id)
        try await chat.fake.wait(for: "the unfreeze") { $0.messages.last?.text == "Unfrozen: work." }
        #expect(ProfileLock.read("work", kind: .frozen, in: directory) == nil)
        chat.fake.receive("/unfreeze work", chatID: Chat.id)
        try await chat.fake.wait(for: "the second unfreeze") { $0.messages.last?.text == "Nothing was frozen." }
        try await bot.stop()

        let records = try AuditLog.read(path: chat.auditPath)
        for event in ["frozen", "unfrozen"] {
            let record = try #require(records.first { $0["event"] as? String == event }, "\(event) is recorded")
            #expect(record["by"] as? String == "telegram" && record["profile"] as? String == "work")
        }
    }

    @Test func killRevokesWipesFreezesAndGivesAReceipt() async throws {
        let chat = try await Chat.start()
        let idp = try await FakeIdentityProvider.start()
        defer {
            Task {
                await chat.finish(); await idp.stop()
            }
        }
        idp.approve()
        let bot = RunningBot(try chat.bot(profiles: [idp.profile()]))
        chat.fake.receive("/auth", chatID: Chat.id)
        try await chat.fake.wait(for: "the sign-in") { $0.messages.contains { $0.text.hasPrefix("Signed in as") } }

        chat.fake.receive("/kill", chatID: Chat.id)
        try await chat.fake.wait(for: "the refusal") { $0.messages.last?.text.hasPrefix("Name the profile to kill") == true }
        chat.fake.receive("/kill work", chatID: Chat.id)
        try await chat.fake.wait(for: "the receipt") { $0.messages.last?.text.hasPrefix("☠️ Killed work") == true }
        try await bot.stop()

        let receipt = try #require(chat.texts().last)
        #expect(receipt.contains("✓ revoked refresh token"))
        #expect(idp.server.requests(to: "/revoke").count >= 1)
        let store = try TokenStore(directory: chat.dir.file("data"), keyFile: nil)
        #expect(try store.load("work") == nil, "the stored tokens are wiped")
        #expect(ProfileLock.read("work", kind: .frozen, in: chat.dir.file("data")) != nil, "and the profile is frozen")
        #expect(leakedSecrets(in: chat.everythingShown).isEmpty)
        let records = try AuditLog.read(path: chat.auditPath)
        #expect(records.contains { $0["event"] as? String == "killed" && $0["profile"] as? String == "work" })
    }
}
