import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

/// What `scripts/fuzz` found, one test per finding, each named for what the input did. The
/// reproducers are the inputs here (shortened where the fuzzer's were noisy).
@Suite struct FuzzFindingsTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    func answer(_ status: Int, _ body: String, headers: [(String, String)] = []) -> IncomingResponse {
        IncomingResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: Data(body.utf8))
    }

    /// token-answer and metadata-service: `{"access_token":123492233720368547758070}` trapped in
    /// OAuthFields.string (Int64(n) of a whole number beyond Int64).
    @Test func aWholeNumberBeyondInt64IsReadNotATrap() {
        for number in ["123492233720368547758070", "-922337203685477580900003600", "1e300"] {
            let body = #"{"access_token":\#(number),"token_type":"Bearer","expires_in":3600}"#
            guard case .tokens(let tokens) = TokenEndpointAnswer.classify(answer(200, body), requestedScopes: [], now: Self.now) else {
                Issue.record("\(number): not read as tokens")
                continue
            }
            #expect(!tokens.accessToken.isEmpty)
        }
        #expect(OAuthFields.parseJSON(Data(#"{"n":42.0,"big":1e19}"#.utf8))?.string("n") == "42")
        #expect(OAuthFields.parseJSON(Data(#"{"big":1e19}"#.utf8))?.string("big") == "1e+19")
    }

    /// Seen while writing the metadata-service target (the fuzz clock now guards it): a
    /// Retry-After of `1e300` (or `inf`, or a date in 9999) had devicegate
    /// wait for ever, and `SystemTimeSource` cannot even express such a wait (UInt64 trap).
    @Test func anAbsurdRetryAfterIsCappedAtTenMinutes() async throws {
        for value in ["1e300", "inf", "Fri, 31 Dec 9999 23:59:59 GMT"] {
            #expect(Quirks.retryAfter(answer(429, "", headers: [("Retry-After", value)]), now: Self.now) == 600, "\(value)")
        }
        #expect(Quirks.retryAfter(answer(429, "", headers: [("Retry-After", "nan")]), now: Self.now) == nil)

        let imds = try await FakeManagedIdentityEndpoint.start(.imds)
        defer { Task { await imds.stop() } }
        imds.inject([.json(429, ["error": "throttled"], headers: [("Retry-After", "1e300")])])
        let time = ManualTime()
        let source = ManagedIdentitySource(
            settings: ManagedIdentitySettings(kind: .imds, resource: "https://graph.microsoft.com", endpoint: imds.url),
            environment: [:], transport: AsyncHTTPTransport.shared, time: time)
        let tokens = try await source.acquire()
        #expect(tokens.accessToken.reveal() == FakeManagedIdentityEndpoint.token(1))
        #expect(time.sleeps == [600])
    }

    /// Seen while writing the token-answer target (its expiry check now guards it): an
    /// `expires_in` of `"9223372036854775807"` put the expiry
    /// 2^63 s away, which `devicegate status`, the bot's /status and the countdowns convert to
    /// whole seconds: a trap. Lifetimes are read as at most ten years either way.
    @Test func anAbsurdLifetimeIsReadAsTenYears() {
        let body = #"{"access_token":"at","expires_in":"9223372036854775807"}"#
        guard case .tokens(let tokens) = TokenEndpointAnswer.classify(answer(200, body), requestedScopes: [], now: Self.now) else {
            Issue.record("not read as tokens")
            return
        }
        let left = tokens.expiresAt?.timeIntervalSince(Self.now) ?? 0
        #expect(Int(exactly: left.rounded()) == Quirks.longestLifetime)
        let azure = #"{"access_token":"at","expires_on":"-9223372036854775808"}"#
        guard case .tokens(let old) = TokenEndpointAnswer.classify(answer(200, azure), requestedScopes: [], now: Self.now) else {
            Issue.record("not read as tokens")
            return
        }
        #expect(old.expiresAt == Self.now.addingTimeInterval(-Double(Quirks.longestLifetime)))
        let slowDown = #"{"error":"slow_down","interval":"9223372036854775807"}"#
        guard case .error(let error) = TokenEndpointAnswer.classify(answer(400, slowDown), requestedScopes: [], now: Self.now) else {
            Issue.record("not read as an error")
            return
        }
        #expect(error.interval == Quirks.longestLifetime)
    }

    /// audit: every AuditLog that went away kept its log and head descriptors open; after about
    /// ten thousand writers the process had none left (and libdispatch crashed). `serve` makes a
    /// writer per auto sign-in.
    @Test func aWriterThatGoesAwayClosesItsFiles() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try TokenStore(directory: dir.file("store"), keyFile: nil)
        func openFiles() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0 }
        try await AuditLog(path: dir.file("audit.jsonl"), store: store).record("warm-up", [:])
        let before = openFiles()
        for n in 0..<50 {
            try await AuditLog(path: dir.file("audit.jsonl"), store: store).record("call", ["n": .int(n)])
        }
        #expect(openFiles() - before < 10, "descriptors leaked: \(openFiles() - before)")
        #expect(try AuditLog.verify(path: dir.file("audit.jsonl"), store: store).isIntact)
    }
}
