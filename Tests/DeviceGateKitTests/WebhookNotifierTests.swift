import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

@Suite struct WebhookNotifierTests {
    static let event = SignInEvent.signedIn(
        .init(
            profile: "work", identity: Identity(name: "Alice", email: "alice@example.test", source: "id_token"), scopes: ["openid"],
            expiresAt: nil))

    @Test func theSignatureIsHMACSHA256OfTheBody() {
        // RFC 4231-style known answer (the classic "quick brown fox" vector).
        #expect(
            WebhookNotifier.signature("The quick brown fox jumps over the lazy dog", secret: Secret("key"))
                == "sha256=f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8")
    }

    @Test func postsTheEventAsSignedJSON() async throws {
        let server = try await LoopbackServer.start { _ in .empty(204) }
        defer { Task { await server.stop() } }
        let notifier = WebhookNotifier(
            url: Secret(server.url("/hooks/T0/SECRETPART").absoluteString), secret: Secret("shared"), transport: AsyncHTTPTransport.shared,
            time: ManualTime())
        try await notifier.notify(Self.event)

        let request = try #require(server.requests(to: "/hooks/T0/SECRETPART").first)
        #expect(request.method == "POST")
        #expect(request.header("Content-Type") == "application/json")
        #expect(request.header("X-DeviceGate-Event") == "signed_in")
        #expect(request.header("X-DeviceGate-Signature") == WebhookNotifier.signature(request.body, secret: Secret("shared")))
        let object = try #require((try JSONSerialization.jsonObject(with: Data(request.body.utf8))) as? [String: Any])
        #expect(object["event"] as? String == "signed_in")
        #expect(object["profile"] as? String == "work")
        #expect(object["email"] as? String == "alice@example.test")
        #expect(object["sent_at"] as? String == "2027-01-15T08:00:00Z")
    }

    @Test func withoutASecretThereIsNoSignature() async throws {
        let server = try await LoopbackServer.start { _ in .empty(200) }
        defer { Task { await server.stop() } }
        try await WebhookNotifier(url: Secret(server.url("/h").absoluteString), transport: AsyncHTTPTransport.shared, time: ManualTime())
            .notify(.expired(profile: "work"))
        #expect(server.requests.first?.header("X-DeviceGate-Signature") == nil)
    }

    @Test func outagesAreRetriedAndRefusalsReportedWithoutThePath() async throws {
        let script = Script([.empty(503), .dropped, .empty(200)])
        let server = try await LoopbackServer.start { _ in script.next() }
        defer { Task { await server.stop() } }
        let time = ManualTime()
        let url = Secret(server.url("/hooks/SECRETPART").absoluteString)
        try await WebhookNotifier(url: url, transport: AsyncHTTPTransport.shared, time: time).notify(Self.event)
        #expect(server.requests.count == 3)
        #expect(time.sleeps == [1, 2])

        let refusing = try await LoopbackServer.start { _ in .empty(403) }
        defer { Task { await refusing.stop() } }
        let error = await #expect(throws: WebhookError.self) {
            try await WebhookNotifier(
                url: Secret(refusing.url("/hooks/SECRETPART").absoluteString), transport: AsyncHTTPTransport.shared, time: ManualTime()
            ).notify(Self.event)
        }
        #expect(error?.description == "the webhook at http://127.0.0.1:\(refusing.port) refused the event: HTTP 403")
        #expect(refusing.requests.count == 1, "a refusal is not retried")
    }
}

@Suite struct CommandNotifierTests {
    @Test func runsTheProgramWithTheEventOnStdin() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let out = dir.file("out")
        // The profile message is hostile: it reaches the program as data, never as shell text.
        let notifier = CommandNotifier(
            program: "/bin/sh", arguments: ["-c", #"cat > "$1"; echo "event=$DEVICEGATE_EVENT" >> "$1""#, "hook", out])
        try await notifier.notify(.failed(profile: "work", message: "$(touch \(dir.file("pwned"))) `id`; rm -rf /"))
        let written = try String(contentsOfFile: out, encoding: .utf8)
        let lines = written.split(separator: "\n").map(String.init)
        #expect(lines.count == 2)
        let object = try #require((try JSONSerialization.jsonObject(with: Data(lines[0].utf8))) as? [String: Any])
        #expect(object["event"] as? String == "failed")
        #expect((object["message"] as? String)?.hasPrefix("$(touch") == true)
        #expect(lines[1] == "event=failed")
        #expect(!FileManager.default.fileExists(atPath: dir.file("pwned")))
    }

    @Test func aFailingProgramIsReportedWithItsLastWords() async throws {
        let notifier = CommandNotifier(program: "sh", arguments: ["-c", "echo starting >&2; echo 'no route to pager' >&2; exit 3"])
        let error = await #expect(throws: CommandNotifierError.self) { try await notifier.notify(.expired(profile: "work")) }
        #expect(error?.description == "sh exited with status 3: no route to pager")
    }

    @Test func aHungProgramIsStopped() async throws {
        let notifier = CommandNotifier(program: "/bin/sleep", arguments: ["30"], timeout: 0.2)
        let error = await #expect(throws: CommandNotifierError.self) { try await notifier.notify(.expired(profile: "work")) }
        #expect(error?.description == "/bin/sleep did not finish within 0.2 s and was stopped")
    }

    @Test func aMissingProgramIsNamed() async throws {
        let notifier = CommandNotifier(program: "/nonexistent/notify")
        let error = await #expect(throws: CommandNotifierError.self) { try await notifier.notify(.expired(profile: "work")) }
        #expect(error?.description.hasPrefix("cannot run /nonexistent/notify") == true)
    }
}
