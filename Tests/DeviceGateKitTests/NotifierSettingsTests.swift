import DeviceGateKit
import Foundation
import Testing

/// `[telegram]`, `[webhook]`, `[command]` and the TELEGRAM_* variables.
@Suite struct NotifierSettingsTests {
    func error(_ toml: String, environment: [String: String] = [:]) -> String {
        do {
            _ = try ConfigLoader(environment: environment).parse(toml, path: "config.toml")
            return "no error"
        } catch {
            return String(describing: error)
        }
    }

    @Test func theSeedsTwoVariablesAreEnoughWithoutAnyTable() throws {
        let config = try ConfigLoader(environment: ["TELEGRAM_BOT_TOKEN": "123:abc", "TELEGRAM_CHAT_ID": "4242"]).parse("", path: nil)
        let telegram = config.notifierSettings.telegram
        #expect(try telegram.botToken().reveal() == "123:abc")
        #expect(try telegram.requireChats() == [4242])
        #expect(telegram.apiBase.absoluteString == "https://api.telegram.org")
        #expect(config.notifierSettings.webhook == nil)
        #expect(config.notifierSettings.command == nil)
    }

    @Test func theTablesAreReadAndTheVariablesWin() throws {
        let toml = """
            [telegram]
            bot_token_env = "MY_BOT"
            chat_ids = [4242, -1001234567890]
            allowed_user_ids = [7, "8"]
            api_base = "http://127.0.0.1:8081/"

            [webhook]
            url = "https://hooks.example/services/T0/B0/SECRETPART"
            secret_env = "HOOK_SECRET"

            [command]
            program = "/usr/local/bin/notify"
            args = ["--channel", "ops"]
            """
        let plain = try ConfigLoader(environment: ["MY_BOT": "1:x"]).parse(toml, path: "config.toml").notifierSettings
        #expect(plain.telegram.chatIDs == [4242, -1_001_234_567_890])
        #expect(plain.telegram.allowedUserIDs == [7, 8])
        #expect(plain.telegram.apiBase.absoluteString == "http://127.0.0.1:8081")
        #expect(plain.telegram.tokenSource == .environment("MY_BOT"))
        #expect(try plain.telegram.botToken().reveal() == "1:x")
        #expect(plain.webhook?.url.reveal() == "https://hooks.example/services/T0/B0/SECRETPART")
        #expect(plain.webhook?.secret == .environment("HOOK_SECRET"))
        #expect(plain.command?.program == "/usr/local/bin/notify")
        #expect(plain.command?.arguments == ["--channel", "ops"])
        #expect(plain.command?.timeout == 30)

        let overridden = try ConfigLoader(environment: [
            "MY_BOT": "1:x", "TELEGRAM_CHAT_ID": "1, 2", "TELEGRAM_API_BASE": "http://127.0.0.1:9999",
        ]).parse(toml, path: "config.toml").notifierSettings.telegram
        #expect(overridden.chatIDs == [1, 2])
        #expect(overridden.apiBase.absoluteString == "http://127.0.0.1:9999")
    }

    @Test func aMissingTokenOrChatSaysWhatToSet() throws {
        let telegram = try ConfigLoader(environment: [:]).parse("", path: nil).notifierSettings.telegram
        #expect(throws: ConfigError.self) { try telegram.botToken() }
        do { _ = try telegram.botToken() } catch { #expect(String(describing: error).contains("TELEGRAM_BOT_TOKEN")) }
        do { _ = try telegram.requireChats() } catch { #expect(String(describing: error).contains("TELEGRAM_CHAT_ID")) }

        let fromFile = try ConfigLoader(environment: [:]).parse("[telegram]\nbot_token_file = \"/nonexistent/bot\"\n", path: nil)
        do { _ = try fromFile.notifierSettings.telegram.botToken() } catch {
            #expect(String(describing: error) == "cannot read the Telegram bot token file /nonexistent/bot")
        }
    }

    @Test func mistakesAreLocated() {
        #expect(error("[telegram]\nbot_token = \"123:abc\"\n").contains("config.toml:2: telegram.bot_token: inline secrets are refused"))
        #expect(error("[telegram]\nchat_id = [1]\n") == "config.toml:2: telegram: unknown key `chat_id`; did you mean `chat_ids`?")
        #expect(error("[telegram]\nchat_ids = [\"me\"]\n").contains("config.toml:2: telegram.chat_ids must hold numeric ids"))
        #expect(error("[telegram]\napi_base = \"ftp://x\"\n").contains("telegram.api_base is not an http(s) URL"))
        #expect(error("telegram = 5\n").contains("`telegram` must be a table"))
        #expect(error("", environment: ["TELEGRAM_CHAT_ID": "@mychannel"]).contains("TELEGRAM_CHAT_ID must be numeric chat ids"))
        #expect(error("[webhook]\nsecret_env = \"S\"\n").contains("webhook needs `url`"))
        #expect(error("[webhook]\nurl = \"https://x\"\nsecret = \"s\"\n").contains("webhook.secret: inline secrets are refused"))
        #expect(error("[command]\nargs = [\"x\"]\n").contains("command needs `program`"))
        #expect(error("[command]\nprogram = \"x\"\ntimeout = 0\n").contains("config.toml:3: command.timeout must be a whole number"))
        #expect(error("[telegrm]\n").contains("unknown key `telegrm`; did you mean `telegram`?"))
    }

    @Test func aWebhookURLNeverAppearsInAnError() {
        let message = error("[webhook]\nurl = \"mailto:SECRETPART\"\n")
        #expect(message.contains("webhook: the url is not an http(s) URL"))
        #expect(!message.contains("SECRETPART"))
    }

    @Test func aGroupChatNeedsAllowedUsersOrAnExplicitAllowAllMembers() throws {
        func telegram(_ toml: String, chats: String) throws -> TelegramSettings {
            try ConfigLoader(environment: ["TELEGRAM_BOT_TOKEN": "1:x", "TELEGRAM_CHAT_ID": chats]).parse(toml, path: nil).notifierSettings
                .telegram
        }
        // A private chat is one person.
        #expect(try telegram("", chats: "4242").requireCommandChats() == [4242])
        // A group without a list of people: any member could /logout.
        for chats in ["-1001234567890", "4242,-1001234567890"] {
            do {
                _ = try telegram("", chats: chats).requireCommandChats()
                Issue.record("a group chat was served to every member (\(chats))")
            } catch let error as ConfigError {
                #expect(error.message.contains("group chat -1001234567890"))
                #expect(error.message.contains("allowed_user_ids = [YOUR_USER_ID]"))
                #expect(error.message.contains("allow_all_members = true"))
            }
        }
        // Sending to the group is still fine: notifications take no commands.
        #expect(try telegram("", chats: "-1001234567890").requireChats() == [-1001234567890])
        #expect(try telegram("[telegram]\nallowed_user_ids = [7]\n", chats: "-1001234567890").requireCommandChats() == [-1001234567890])
        #expect(try telegram("[telegram]\nallow_all_members = true\n", chats: "-1001234567890").requireCommandChats() == [-1001234567890])
        #expect(throws: ConfigError.self) {
            try telegram("[telegram]\nallow_all_members = false\n", chats: "-1001234567890").requireCommandChats()
        }
        #expect(error("[telegram]\nallow_all_members = \"yes\"\n").contains("telegram.allow_all_members must be true or false"))
    }
}
