import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

/// `devicegate exec` with the real binary, a real sign-in at Glewlwyd, and real child processes.
@Suite(.serialized) struct ExecTests {
    /// Glewlwyd on SQLite now and then refuses alice's password login (HTTP 401) while other
    /// suites sign in at the same moment; the code is still pending then, so trying again is safe.
    static func approve(_ idp: LocalIdP, _ code: String) throws {
        for attempt in 1...3 {
            do { return try idp.approve(code) } catch let error as Failure where attempt < 3 && error.description.contains("login as") {
                continue
            }
        }
    }

    @Test func runsCommandsWithTheTokenInTheirEnvironmentOnly() throws {
        let idp = try LocalIdP.load()
        let box = Sandbox(idp: idp)
        defer { box.remove() }
        let login = try box.login("work") { try Self.approve(idp, $0) }
        #expect(login.result.status == 0, "login: \(login.result.stderr)")
        var outputs: [String] = [login.result.stdout, login.result.stderr]

        // The issue's acceptance command.
        let present = try box.run("exec", "work", "--", "sh", "-c", #"test -n "$ACCESS_TOKEN""#)
        outputs += [present.stdout, present.stderr]
        #expect(present.status == 0, "exec: \(present.stderr)")

        // It is the stored token, and it reached the child through the environment alone.
        let seen = box.dir.file("seen")
        let argvFile = box.dir.file("argv")
        let psFile = box.dir.file("ps")
        let written = try box.run(
            "exec", "work", "--", "sh", "-c",
            #"printf %s "$ACCESS_TOKEN" > "$1"; cat /proc/$$/cmdline /proc/$PPID/cmdline > "$2"; ps -eo args > "$3""#,
            "sh", seen, argvFile, psFile)
        outputs += [written.stdout, written.stderr]
        #expect(written.status == 0, "exec: \(written.stderr)")
        let token = try #require(try box.store().load("work")).tokens.accessToken
        #expect(Secret(try String(contentsOfFile: seen, encoding: .utf8)) == token, "the child got the profile's access token")
        let argv = try String(decoding: Data(contentsOf: URL(fileURLWithPath: argvFile)), as: UTF8.self)
        #expect(argv.contains("ACCESS_TOKEN"), "the check read the real command lines")
        // Booleans, not the strings: a failed expectation prints its operands, which would show the token.
        let argvHasToken = argv.contains(token.reveal())
        #expect(!argvHasToken, "the token is on the child's or devicegate's command line")
        let ps = try String(contentsOfFile: psFile, encoding: .utf8)
        #expect(ps.contains("devicegate exec work"), "ps saw devicegate while the child ran")
        let psHasToken = ps.contains(token.reveal())
        #expect(!psHasToken, "the token is visible in ps")

        // --env names the variables; then ACCESS_TOKEN is not set.
        let named = try box.run(
            "exec", "work", "--env", "GH_TOKEN", "--env", "OTHER_TOKEN", "--", "sh", "-c",
            #"test -n "$GH_TOKEN" && test "$GH_TOKEN" = "$OTHER_TOKEN" && test -z "${ACCESS_TOKEN+set}""#)
        outputs += [named.stdout, named.stderr]
        #expect(named.status == 0, "exec --env: \(named.stderr)")

        // Exit statuses come back, death by signal as 128+N.
        #expect(try box.run("exec", "work", "--", "sh", "-c", "exit 7").status == 7)
        #expect(try box.run("exec", "work", "--", "sh", "-c", "kill -TERM $$").status == 128 + SIGTERM)
        let missing = try box.run("exec", "work", "--", "devicegate-no-such-command")
        #expect(missing.status == 127)
        #expect(missing.stderr.contains("devicegate-no-such-command: command not found"))

        // Standard streams are the caller's own.
        let echoed = try ProcessResult.run(
            Sandbox.binary, ["exec", "work", "--", "sh", "-c", "cat; echo to-stderr >&2"], environment: box.environment, stdin: "from stdin"
        )
        #expect(echoed.status == 0)
        #expect(echoed.stdout == "from stdin")
        #expect(echoed.stderr == "to-stderr\n")
        outputs += [echoed.stdout, echoed.stderr]

        let leaked = outputs.contains { $0.contains(token.reveal()) }
        #expect(!leaked, "a token leaked into command output")
    }

    @Test func signalsSentToDevicegateReachTheCommand() throws {
        let idp = try LocalIdP.load()
        let box = Sandbox(idp: idp)
        defer { box.remove() }
        #expect(try box.login("work") { try Self.approve(idp, $0) }.result.status == 0)

        for (signal, name) in [(SIGTERM, "TERM"), (SIGHUP, "HUP"), (SIGINT, "INT")] {
            // The child traps the signal and exits 40+N; untrapped, it would end by itself with 9
            // after a minute, so a signal that is not forwarded fails the test instead of hanging it.
            let script = """
                trap 'echo "got \(name)"; exit $((40 + \(signal)))' \(name)
                echo ready
                i=0; while [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done; exit 9
                """
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Sandbox.binary)
            process.arguments = ["exec", "work", "--", "sh", "-c", script]
            process.environment = box.environment
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            process.standardInput = FileHandle.nullDevice
            try process.run()
            var seen = Data()
            while !String(decoding: seen, as: UTF8.self).contains("ready\n") {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                seen.append(chunk)
            }
            kill(process.processIdentifier, signal)
            seen.append(out.fileHandleForReading.readDataToEndOfFile())
            process.waitUntilExit()
            #expect(process.terminationReason == .exit, "devicegate itself was killed by SIG\(name)")
            #expect(process.terminationStatus == 40 + signal, "SIG\(name)")
            #expect(String(decoding: seen, as: UTF8.self) == "ready\ngot \(name)\n")
        }
    }

    @Test func notSignedInExits3WithoutRunningTheCommand() throws {
        let box = Sandbox(idp: try LocalIdP.load())
        defer { box.remove() }
        let marker = box.dir.file("ran")
        let result = try box.run("exec", "work", "--", "sh", "-c", #"touch "$1""#, "sh", marker)
        #expect(result.status == 3)
        #expect(result.stderr.contains("sign-in needed for work"))
        #expect(result.stderr.contains("devicegate login work"))
        #expect(!FileManager.default.fileExists(atPath: marker), "the command ran without a token")
    }

    /// A config naming every kind of secret variable, and a token already in the store: `exec`
    /// runs without any provider.
    static func secretsSandbox() throws -> (box: Sandbox, environment: [String: String]) {
        let box = Sandbox(
            idp: LocalIdP(values: [:]),
            config: """
                [profiles.work]
                provider = "oidc"
                issuer = "https://idp.invalid"
                client_id = "c"
                client_secret_env = "WORK_CLIENT_SECRET"

                [telegram]
                bot_token_env = "MY_BOT_TOKEN"

                [webhook]
                url_env = "HOOK_URL"
                secret_env = "HOOK_SECRET"
                """)
        try box.store().save(
            StoredProfile(
                profile: "work", issuer: "https://idp.invalid", clientID: "c",
                tokens: TokenSet(
                    accessToken: Secret("STORED-ACCESS-TOKEN"), expiresAt: Date().addingTimeInterval(3600), obtainedAt: Date()),
                identity: nil, updatedAt: Date()))
        var environment = box.environment
        environment["WORK_CLIENT_SECRET"] = "CLIENT-SECRET-VALUE"
        environment["MY_BOT_TOKEN"] = "BOT-TOKEN-VALUE-1"
        environment["TELEGRAM_BOT_TOKEN"] = "BOT-TOKEN-VALUE-2"
        environment["HOOK_URL"] = "https://hooks.invalid/T0/HOOK-URL-SECRET"
        environment["HOOK_SECRET"] = "HOOK-SECRET-VALUE"
        environment["DEVICEGATE_AGENT_KEY"] = "dgk_AGENT-KEY-VALUE"
        environment["PLAIN_SETTING"] = "plain-value"
        return (box, environment)
    }

    @Test func theCommandDoesNotInheritDevicegatesSecrets() throws {
        let (box, environment) = try Self.secretsSandbox()
        defer { box.remove() }
        let result = try ProcessResult.run(Sandbox.binary, ["exec", "work", "--", "env"], environment: environment)
        #expect(result.status == 0, "exec: \(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("ACCESS_TOKEN=STORED-ACCESS-TOKEN"))
        #expect(lines.contains("PLAIN_SETTING=plain-value"), "ordinary variables are inherited")
        #expect(lines.contains { $0.hasPrefix("DEVICEGATE_CONFIG=") }, "a devicegate run by the command finds the same config")
        for value in [
            "CLIENT-SECRET-VALUE", "BOT-TOKEN-VALUE-1", "BOT-TOKEN-VALUE-2", "HOOK-URL-SECRET", "HOOK-SECRET-VALUE", "AGENT-KEY-VALUE",
        ] {
            #expect(!result.stdout.contains(value), "the command inherited \(value)")
        }
    }

    @Test func theCommandInheritsOnlyTheStandardStreams() throws {
        let (box, environment) = try Self.secretsSandbox()
        defer { box.remove() }
        // `ls` opens one descriptor of its own to read the directory.
        let result = try ProcessResult.run(Sandbox.binary, ["exec", "work", "--", "ls", "/proc/self/fd"], environment: environment)
        #expect(result.status == 0, "exec: \(result.stderr)")
        let open = result.stdout.split(separator: "\n").compactMap { Int($0) }.sorted()
        #expect(open.count <= 4 && open.prefix(3) == [0, 1, 2], "descriptors the command inherited: \(open)")
    }

    @Test(arguments: [
        "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT", "DYLD_INSERT_LIBRARIES", "GLIBC_TUNABLES", "MALLOC_CHECK_", "BASH_ENV", "ENV",
        "PATH", "IFS", "PS4", "SHELLOPTS", "BASHOPTS", "PYTHONSTARTUP", "PYTHONPATH", "NODE_OPTIONS", "PERL5OPT", "RUBYOPT",
        "JAVA_TOOL_OPTIONS", "LANG", "LC_ALL", "HTTPS_PROXY", "http_proxy", "GIT_SSH_COMMAND", "TERM", "DEVICEGATE_CONFIG",
    ])
    func interpretedVariablesAreRefusedWithExit64(name: String) throws {
        let (box, environment) = try Self.secretsSandbox()
        defer { box.remove() }
        let marker = box.dir.file("ran")
        let result = try ProcessResult.run(
            Sandbox.binary, ["exec", "work", "--env", "GH_TOKEN", "--env", name, "--", "sh", "-c", #"touch "$1""#, "sh", marker],
            environment: environment)
        #expect(result.status == 64, "\(name): \(result.stderr)")
        #expect(result.stderr.contains("--env \(name): refused"), "\(name): \(result.stderr)")
        #expect(!result.stderr.contains("STORED-ACCESS-TOKEN") && !result.stdout.contains("STORED-ACCESS-TOKEN"))
        #expect(!FileManager.default.fileExists(atPath: marker), "the command ran")
    }

    @Test func usageErrorsExit64() throws {
        let box = Sandbox(idp: try LocalIdP.load())
        defer { box.remove() }
        let noCommand = try box.run("exec", "work")
        #expect(noCommand.status == 64)
        #expect(noCommand.stderr.contains("after `--`"))
        #expect(try box.run("exec", "work", "--env", "1BAD", "--", "true").status == 64)
        #expect(try box.run("exec", "work", "--env", "A=B", "--", "true").status == 64)
        #expect(try box.run("exec", "work", "--min-ttl", "-1", "--", "true").status == 64)
    }
}
