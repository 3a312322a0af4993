import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

/// What `exec`'s child may inherit, and which variables may carry its token.
@Suite(.serialized) struct ChildEnvironmentTests {
    static let config = """
        [profiles.work]
        provider = "oidc"
        issuer = "https://idp.test"
        client_id = "c"
        client_secret_env = "WORK_CLIENT_SECRET"

        [profiles.other]
        provider = "oidc"
        issuer = "https://idp.test"
        client_id = "c"
        client_secret_file = "/run/secrets/other"

        [telegram]
        bot_token_env = "MY_BOT_TOKEN"

        [webhook]
        url_env = "HOOK_URL"
        secret_env = "HOOK_SECRET"
        """

    @Test func everySecretVariableOfTheConfigIsWithheld() throws {
        let config = try ConfigLoader(environment: ["HOOK_URL": "https://hooks.test/T0/SECRETPART"]).parse(Self.config, path: nil)
        let withheld = ChildEnvironment.withheldVariables(of: config)
        for name in ["WORK_CLIENT_SECRET", "MY_BOT_TOKEN", "TELEGRAM_BOT_TOKEN", "HOOK_URL", "HOOK_SECRET", "DEVICEGATE_AGENT_KEY"] {
            #expect(withheld.contains(name), "\(name) reaches the child")
        }
        // Paths are not secrets, and a devicegate run by the child needs them.
        #expect(!withheld.contains("DEVICEGATE_KEY_FILE"))
        #expect(!withheld.contains("DEVICEGATE_CONFIG"))
    }

    @Test func aRealChildDoesNotInheritWithheldVariables() async throws {
        let dir = TemporaryDirectory("childenv")
        defer { dir.remove() }
        setenv("DEVICEGATE_TEST_WITHHELD", "withheld-value-1", 1)
        setenv("DEVICEGATE_TEST_KEPT", "kept-value-2", 1)
        defer {
            unsetenv("DEVICEGATE_TEST_WITHHELD")
            unsetenv("DEVICEGATE_TEST_KEPT")
        }
        let out = dir.file("env")
        let child = ChildProcess(
            command: ["sh", "-c", #"env > "$1""#, "sh", out], secrets: ["ACCESS_TOKEN": Secret("tok")],
            withheld: ["DEVICEGATE_TEST_WITHHELD"])
        #expect(try await child.run() == .exited(0))
        let env = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(!env.contains { $0.hasPrefix("DEVICEGATE_TEST_WITHHELD=") })
        #expect(env.contains("DEVICEGATE_TEST_KEPT=kept-value-2"))
        #expect(env.contains("ACCESS_TOKEN=tok"))
    }

    /// Every name an attacker would reach for to have the token printed, looked up or run.
    static let interpreted = [
        "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "LD_DEBUG", "DYLD_INSERT_LIBRARIES", "GLIBC_TUNABLES", "MALLOC_CHECK_",
        "MALLOC_ARENA_MAX", "GCONV_PATH", "LOCPATH", "HOSTALIASES", "TZ", "TMPDIR", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "PATH",
        "IFS", "ENV", "BASH_ENV", "BASHOPTS", "SHELLOPTS", "PS1", "PS4", "PROMPT_COMMAND", "CDPATH", "HOME", "ZDOTDIR", "TERM",
        "TERMINFO", "PYTHONSTARTUP", "PYTHONPATH", "PYTHONHOME", "PYTHONWARNINGS", "NODE_OPTIONS", "NODE_PATH", "PERL5OPT",
        "PERL5LIB", "PERLLIB", "RUBYOPT", "RUBYLIB", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH",
        "DOTNET_STARTUP_HOOKS", "GOFLAGS", "GODEBUG", "PHPRC", "GIT_SSH_COMMAND", "GIT_ASKPASS", "GIT_CONFIG_GLOBAL", "SSH_ASKPASS",
        "EDITOR", "PAGER", "LESSOPEN", "HTTPS_PROXY", "http_proxy", "ALL_PROXY", "NO_PROXY", "SSL_CERT_FILE", "SSLKEYLOGFILE",
        "OPENSSL_CONF", "DOCKER_HOST", "DEVICEGATE_CONFIG", "DEVICEGATE_KEY_FILE", "ld_preload",
    ]

    @Test(arguments: interpreted)
    func interpretedNamesAreRefused(name: String) {
        #expect(ChildEnvironment.refusalReason(forTokenVariable: name) != nil, "\(name) accepted")
    }

    @Test(arguments: ["ACCESS_TOKEN", "GH_TOKEN", "GITHUB_TOKEN", "GOOGLE_ACCESS_TOKEN", "TOKEN", "MS_GRAPH_TOKEN", "_T1"])
    func ordinaryNamesAreAccepted(name: String) {
        #expect(ChildEnvironment.isValidName(name))
        #expect(ChildEnvironment.refusalReason(forTokenVariable: name) == nil)
    }

    @Test(arguments: ["", "1BAD", "A=B", "A-B", "A B", "É", "A\u{0}B", "$X", "A.B"])
    func invalidNamesAreNotNames(name: String) {
        #expect(!ChildEnvironment.isValidName(name))
    }
}
