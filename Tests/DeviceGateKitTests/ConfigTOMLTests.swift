import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

/// The config file's TOML, read strictly: every malformed file is a ``ConfigError`` that names
/// its line, never a crash, and every well-formed one is read. One test per kind of problem
/// found when TOMLKit (toml++) read the config and when toml-lang/toml-test was run against it.
@Suite struct ConfigTOMLTests {
    /// The refusal of `text`, or nil when it loaded (an error of another type is recorded as an issue).
    func refusal(_ text: String, environment: [String: String] = [:]) -> ConfigError? {
        do {
            _ = try ConfigLoader(environment: environment).parse(text, path: "config.toml")
            return nil
        } catch let error as ConfigError {
            return error
        } catch {
            Issue.record("not a ConfigError: \(error)")
            return nil
        }
    }

    /// Expects `text` to be refused as TOML at `line`, with `words` in the message.
    func expectInvalidTOML(_ text: String, line: Int, _ words: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
        guard let error = refusal(text) else {
            Issue.record("accepted: \(text.debugDescription)", sourceLocation: sourceLocation)
            return
        }
        #expect(error.line == line, "\(error)", sourceLocation: sourceLocation)
        #expect(error.message.hasPrefix("not valid TOML"), "\(error)", sourceLocation: sourceLocation)
        #expect(words.isEmpty || error.message.contains(words), "\(error)", sourceLocation: sourceLocation)
    }

    static let profile = "[profiles.work]\nprovider = \"github\"\nclient_id = \"c\"\n"

    // MARK: crashes and silent truncation under TOMLKit

    /// toml++ asserted in `parse_key()` (SIGABRT, exit 134) when a header's key did not start on the `[` line.
    @Test func keyOnTheLineAfterAnOpenBracketIsAnErrorNotACrash() {
        expectInvalidTOML("[\ngateway]\n", line: 1, "a table header must be on one line")
        expectInvalidTOML("[[\nprofiles]]\n", line: 1, "a table header must be on one line")
        expectInvalidTOML("[", line: 1, "found the end of the file")
    }

    /// The same assertion fired for every byte that cannot start a key: `.`, `!`, `=`, `]`, `#`, control characters…
    @Test func aByteThatCannotStartAKeyAfterABracketIsAnErrorNotACrash() {
        let starters = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_\"' \t".utf8)
        for byte in UInt8(1)...0x7F where !starters.contains(byte) && byte != 0x0A && byte != 0x0D {
            let scalar = String(Character(Unicode.Scalar(byte)))
            expectInvalidTOML("# header\n[" + scalar + "gateway]\n", line: 2)
            expectInvalidTOML("# header\n[[" + scalar + "profiles]]\n", line: 2)
        }
    }

    /// Random mutations of the example config that aborted `devicegate status` under TOMLKit
    /// (found by flipping the byte after each `[`): each is now refused at the header's line.
    @Test func mutatedExampleConfigsThatCrashedAreErrorsAtTheHeaderLine() throws {
        let example = try String(contentsOf: ConfigMutationTests.exampleConfig, encoding: .utf8)
        let lines = example.split(separator: "\n", omittingEmptySubsequences: false)
        let headers = lines.indices.filter { lines[$0].hasPrefix("[") }
        #expect(headers.count == 2)
        for index in headers {
            for replacement in ["\n", ".", "=", "!", "]", "#", "\u{1}", "\u{7F}", "{", "~"] {
                var mutated = lines.map(String.init)
                mutated[index] = "[" + replacement + mutated[index].dropFirst(2)
                expectInvalidTOML(mutated.joined(separator: "\n"), line: index + 1)
            }
        }
    }

    /// toml++ read up to a NUL byte and silently dropped the rest of the file, keys and tables included.
    @Test func aNulByteIsAnErrorNotTheEndOfTheFile() {
        expectInvalidTOML(Self.profile + "\u{0}\n[gateway]\nlisten = \"0.0.0.0:8787\"\n", line: 4, "U+0000")
        expectInvalidTOML(Self.profile + "scopes = [\"openid\"] # \u{0} rest\n", line: 4, "U+0000 is not allowed in a comment")
        expectInvalidTOML("client_id = \"a\u{0}b\"\n", line: 1, "U+0000 is not allowed in a string")
    }

    /// A file that is not UTF-8 was refused without a line; now its line and column are named.
    @Test func textThatIsNotUTF8IsReportedAtItsLine() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("config.toml")
        var bytes = Array(Self.profile.utf8)
        bytes += Array("scopes = [\"".utf8) + [0xC3, 0x28] + Array("\"]\n".utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect {
            _ = try ConfigLoader(environment: [:]).load(path: path, required: true)
        } throws: { error in
            guard let error = error as? ConfigError else { return false }
            return error.line == 4 && error.message.contains("column 12") && error.message.contains("not valid UTF-8")
        }
        // UTF-16 (as some editors save) is refused at its first byte, not read as an empty file.
        try Data([0xFF, 0xFE] + Array("a".utf8) + [0]).write(to: URL(fileURLWithPath: path))
        #expect { _ = try ConfigLoader(environment: [:]).load(path: path, required: true) } throws: { ($0 as? ConfigError)?.line == 1 }
    }

    /// One byte order mark opens the file (editors on Windows write it); a second one is text and an error.
    @Test func onlyOneByteOrderMarkIsAllowedAndOnlyAtTheStart() throws {
        #expect(refusal("\u{FEFF}" + Self.profile) == nil)
        expectInvalidTOML("\u{FEFF}\u{FEFF}" + Self.profile, line: 1, "expected a key")
        expectInvalidTOML(Self.profile + "scopes = \u{FEFF}[]\n", line: 4, "expected a value")
    }

    // MARK: limits of our own parser

    /// A key of 40,000 dotted parts (an 80 KB file) overflowed the stack under TOMLKit (SIGSEGV, exit 139).
    @Test func aKeyOfManyDottedPartsIsAnErrorNotAStackOverflow() {
        expectInvalidTOML("[" + Array(repeating: "a", count: 100_000).joined(separator: ".") + "]", line: 1, "too deep")
        expectInvalidTOML(Array(repeating: "a", count: 100_000).joined(separator: ".") + " = 1", line: 1, "too deep")
        expectInvalidTOML("x = { " + Array(repeating: "a", count: 100_000).joined(separator: ".") + " = 1 }", line: 1, "too deep")
    }

    /// Nesting is capped, so a hostile `[[[[…` cannot exhaust the stack: a crash would end this test process.
    @Test func deepNestingIsAnErrorNotAStackOverflow() {
        expectInvalidTOML("a = " + String(repeating: "[", count: 100_000), line: 1, "nested too deeply")
        expectInvalidTOML("a = " + String(repeating: "{ b = ", count: 100_000), line: 1, "nested too deeply")
        expectInvalidTOML("a = " + String(repeating: "{ b.c.d.e.f.g.h = ", count: 1_000), line: 1, "nested too deeply")
        // 128 levels are fine (toml-test suggests a limit of 128 or 256); the 129th is not.
        let nested = { (count: Int) in "x = " + String(repeating: "[", count: count) + String(repeating: "]", count: count) + "\n" }
        #expect(refusal(nested(128))?.message.hasPrefix("unknown key `x`") == true)
        expectInvalidTOML(nested(129), line: 1, "nested too deeply")
    }

    /// Integers are 64-bit; one more is refused instead of wrapping or trapping.
    @Test func integersBeyond64BitsAreErrorsNotTraps() throws {
        for text in [
            "9223372036854775808", "-9223372036854775809", "0x8000_0000_0000_0000", "0o1777777777777777777777", "99999999999999999999999",
        ] {
            expectInvalidTOML(Self.profile + "min_ttl = \(text)\n", line: 4, "does not fit in 64 bits")
        }
        let config = try ConfigLoader(environment: [:]).parse(Self.profile + "min_ttl = 9_223_372_036_854_775_807\n", path: nil)
        #expect(try config.profile(named: "work").minimumTTL == Int.max)
        #expect(refusal(Self.profile + "min_ttl = -9223372036854775808\n")?.message.contains("whole number") == true)
        expectInvalidTOML(Self.profile + "x = 1e400\n", line: 4, "too large")
    }

    // MARK: the rules of TOML 1.0

    /// Keys are set once, tables defined once; dotted keys, inline tables and arrays cannot reopen what is complete.
    @Test func redefinitionsAreErrorsAtTheSecondDefinition() {
        expectInvalidTOML(Self.profile + "client_id = \"d\"\n", line: 4, "already defined at line 3")
        expectInvalidTOML(Self.profile + "[profiles.work]\n", line: 4, "already defined at line 1")
        expectInvalidTOML("[profiles]\nwork.provider = \"github\"\n[profiles.work]\n", line: 3, "defined by dotted keys")
        expectInvalidTOML("[profiles.work.x]\n[profiles]\nwork.y = 1\n", line: 3, "cannot add to it")
        expectInvalidTOML("[profiles]\nwork = { provider = \"github\" }\nwork.client_id = \"c\"\n", line: 3, "inline table")
        expectInvalidTOML("[profiles]\nwork = { provider = \"github\" }\n[profiles.work]\n", line: 3, "inline table")
        expectInvalidTOML("[profiles]\nwork = {}\n[profiles.work.extra_params]\n", line: 3, "inline table")
        expectInvalidTOML("scopes = []\n[[scopes]]\n", line: 2, "array written with `=`")
        expectInvalidTOML("[[profiles]]\n[profiles]\n", line: 2, "array of tables")
        expectInvalidTOML("[profiles]\n[[profiles]]\n", line: 2, "not an array of tables")
        expectInvalidTOML("default_profile = \"w\"\ndefault_profile.x = 1\n", line: 2, "already a string")
        expectInvalidTOML("a = { b = 1, b = 2 }\n", line: 1, "already defined")
    }

    /// The syntax mistakes a person makes: each is refused at its line with what was expected.
    @Test func syntaxMistakesNameTheLineAndWhatWasExpected() {
        expectInvalidTOML(Self.profile + "scopes = [\"a\" \"b\"]\n", line: 4, "expected `,` or `]`")
        expectInvalidTOML(Self.profile + "scopes = [\"a\",\n", line: 4, "never closed")
        expectInvalidTOML(Self.profile + "issuer = https://x\n", line: 4, "write a string in quotes")
        expectInvalidTOML(Self.profile + "issuer = \"https://x\n", line: 4, "must end on the line it starts")
        expectInvalidTOML(Self.profile + "issuer = \"\"\"\nhttps://x\n", line: 4, "never closed")
        expectInvalidTOML(Self.profile + "issuer = \"C:\\path\"\n", line: 4, "`\\p` is not an escape")
        expectInvalidTOML(Self.profile + "issuer = \"\\ud800\"\n", line: 4, "not a Unicode character")
        expectInvalidTOML(Self.profile + "min_ttl = 0300\n", line: 4, "cannot start with a zero")
        expectInvalidTOML(Self.profile + "min_ttl = 3__00\n", line: 4, "underscore")
        expectInvalidTOML(Self.profile + "min_ttl = +0x10\n", line: 4, "cannot have a sign")
        expectInvalidTOML(Self.profile + "when = 2023-02-29\n", line: 4, "no such day")
        expectInvalidTOML(Self.profile + "when = 07:32\n", line: 4, "seconds included")
        expectInvalidTOML(Self.profile + "read_only = True\n", line: 4, "a value without quotes must be true, false")
        expectInvalidTOML(Self.profile + "extra_params = { a = \"1\", }\n", line: 4, "comma cannot end an inline table")
        expectInvalidTOML(Self.profile + "extra_params = { a = \"1\",\n b = \"2\" }\n", line: 4, "on one line")
        expectInvalidTOML(Self.profile + "scopes\n", line: 4, "expected `=` after the key `scopes`")
        expectInvalidTOML(Self.profile + "scopes = \n", line: 4, "expected a value for `profiles.work.scopes`")
        expectInvalidTOML(Self.profile + "scopes = [] extra\n", line: 4, "expected the end of the line")
        expectInvalidTOML(Self.profile + "\"\"\"key\"\"\" = 1\n", line: 4, "a key cannot be a multi-line string")
        expectInvalidTOML(Self.profile + "a = 1\rb = 2\n", line: 4, "carriage return")
        expectInvalidTOML(Self.profile + "# bell \u{7}\n", line: 4, "U+0007 is not allowed in a comment")
        expectInvalidTOML("[profiles.work]]\n", line: 1, "expected the end of the line after the table header")
        expectInvalidTOML("[[profiles.work]\n", line: 1, "`]]`")
    }

    /// A secret pasted without quotes is a syntax error whose message must not repeat it: an
    /// unquoted bot token reads as a broken time, a webhook URL or a client secret as a bare word.
    @Test func aValueWrittenWithoutQuotesIsNotRepeatedInTheError() {
        let cases = [
            "[telegram]\nbot_token = 123456:ABCdef-secret\n", "[telegram]\nbot_token_env = 123456:ABCdef-secret\n",
            "[webhook]\nurl = https://hooks.example/T000/ABCdef-secret\n", "[profiles.w]\nclient_secret = ABCdef-secret\n",
            "[profiles.w]\nclient_secret = 2024-01-01ABCdef-secret\n", "[profiles.w]\nclient_secret = 12:34:56ABCdef-secret\n",
            "[profiles.w]\nclient_secret = 0xABCdef-secret\n", "[profiles.w]\nclient_secret = 1e5ABCdef-secret\n",
        ]
        for text in cases {
            let error = refusal(text)
            #expect(error?.line == 2, "\(text)")
            #expect(error.map { !"\($0)".contains("ABCdef") && !"\($0)".contains("secret") } == true, "\(String(describing: error))")
        }
    }

    /// Lines are counted through multi-line strings, line-ending backslashes and CRLF line ends.
    @Test func linesAreCountedThroughMultilineStringsAndCRLF() {
        expectInvalidTOML("a = \"\"\"\none\ntwo \\\n  three\n\"\"\"\nb = '''\n\n'''\nc = \n", line: 9, "expected a value for `c`")
        expectInvalidTOML("a = 1\r\nb = 2\r\nc = \r\n", line: 3, "expected a value for `c`")
        let error = refusal("[profiles.work]\nprovider = \"github\"\nclient_id = \"\"\"\nscope = 1\n\"\"\"\nscope = [\"x\"]\n")
        #expect(error?.description == "config.toml:6: profiles.work: unknown key `scope`; did you mean `scopes`?")
    }

    /// Unknown keys are located by the parser's own positions, so an inline table or a
    /// dotted key names its line too (the old text scan found no line for these).
    @Test func unknownKeysInInlineTablesAndDottedKeysNameTheirLine() {
        let inline = refusal("[profiles]\n# work\nwork = { provider = \"github\", client_id = \"c\", scope = \"x\" }\n")
        #expect(inline?.description == "config.toml:3: profiles.work: unknown key `scope`; did you mean `scopes`?")
        let dotted = refusal("profiles.work.provider = \"github\"\n\nprofiles.work.scope = \"x\"\n")
        #expect(dotted?.description == "config.toml:3: profiles.work: unknown key `scope`; did you mean `scopes`?")
        let quoted = refusal("[profiles.\"a.b\"]\nprovider = \"github\"\nclient_id = \"c\"\nscope = \"x\"\n")
        #expect(quoted?.description == "config.toml:4: profiles.a.b: unknown key `scope`; did you mean `scopes`?")
    }

    /// Valid TOML is never refused: all four kinds of string, escapes, every way to write an integer.
    @Test func everyWayOfWritingAValueIsRead() throws {
        let text = #"""
            default_profile = 'work'
            [profiles.work]
            provider = "git\u0068ub"
            client_id = '''C:\no\escapes'''
            scopes = [
              "a\tb",   # a comment between items
              'c',
              """
            d\
              e""",
              '''f''',
            ]
            min_ttl = 0x1_2c
            extra_params = { prompt = "consent", "quoted key" = "\u00e9\U0001F600" }

            [profiles."dotted.name"]
            provider = "github"
            client_id = "c"
            min_ttl = 0o454

            [ profiles . 'spaced' ]
            provider = "github"
            client_id = "c"
            min_ttl = 0b1_0010_1100
            """#
        let config = try ConfigLoader(environment: [:]).parse(text, path: nil)
        let work = try config.profile(named: "work")
        #expect(work.provider.kind == .github)
        #expect(work.clientID == #"C:\no\escapes"#)
        #expect(work.scopes == ["a\tb", "c", "de", "f"])
        #expect(work.minimumTTL == 300)
        #expect(work.extraParameters.map { "\($0.0)=\($0.1)" }.sorted() == ["prompt=consent", "quoted key=é😀"])
        #expect(try config.profile(named: "dotted.name").minimumTTL == 300)
        #expect(try config.profile(named: "spaced").minimumTTL == 300)
    }

    /// Floats, dates and times (a leap second too, which toml++ refused) are read, and then
    /// refused where a config key cannot use them.
    @Test func floatsDatesAndTimesAreReadThenRefusedByTypeWhereUnused() {
        let kinds = [
            "3.14": "floating-point number", "-1e-3": "floating-point number", "+inf": "floating-point number",
            "nan": "floating-point number", "1979-05-27T07:32:00Z": "date-time", "1979-05-27 07:32:00.999-07:00": "date-time",
            "1979-05-27T07:32:00": "date-time", "1979-05-27": "date", "07:32:00.5": "time", "2024-02-29t00:00:60z": "date-time",
        ]
        for (value, kind) in kinds {
            let error = refusal(Self.profile + "min_ttl = \(value)\n")
            #expect(error?.description == "config.toml:4: profiles.work.min_ttl has an unsupported type (\(kind))", "\(value)")
        }
    }
}
