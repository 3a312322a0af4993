import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

@Suite struct RequestTargetTests {
    @Test func splitsProfilePathAndQuery() throws {
        let target = try RequestTarget("/work/v1.0/me/messages?$top=5&$select=subject")
        #expect(target.profile == "work")
        #expect(target.path.segments == ["v1.0", "me", "messages"])
        #expect(target.query == "$top=5&$select=subject")
        #expect(try RequestTarget("/work").path.segments == [])
        #expect(try RequestTarget("/work?x=1").query == "x=1")
        #expect(RequestTarget.profileName(of: "/nosuch/x?y") == "nosuch")
    }

    @Test(arguments: [
        "/work/x?a=1#frag", "/work/x?a=1 b", "/work/x?a=\"q\"", "/work/x?a=<b>", "/work/x?a={1}", "/work/x?a=%0A\n",
        "/work/x?caf\u{e9}=1",
    ])
    func refusesQueriesThatCouldEndEarlyOrBeReadTwoWays(target: String) {
        #expect(throws: RequestTarget.Rejection.queryCharacter) { try RequestTarget(target) }
    }

    @Test(arguments: ["_method=DELETE", "x=1&_METHOD=put", "%5Fmethod=DELETE", "X-HTTP-Method-Override=DELETE", "x-method-override=PATCH"])
    func refusesMethodOverrideParameters(query: String) {
        #expect {
            try RequestTarget("/work/x?\(query)")
        } throws: {
            if case .methodOverride = $0 as? RequestTarget.Rejection { return true }
            return false
        }
    }

    @Test func pathRejectionsPassThrough() {
        #expect(throws: RequestTarget.Rejection.path(.delimiter)) { try RequestTarget("/work/users/bob#/profile") }
        #expect(throws: RequestTarget.Rejection.path(.dotSegment)) { try RequestTarget("/work/x/..;/admin") }
    }
}

/// What the policy matched is what the upstream receives: for every path the gateway accepts,
/// the path it sends upstream, read back by an independent parser (Foundation's URL), has the
/// very segments the rule was matched against.
@Suite struct RequestPathInvariantTests {
    static let pieces: [String] = [
        "a", "users", "bob", "profile", "admin", ".", "..", "%2e", "%2E%2e", ";", ";x=1", "#", "?", "%23", "%3F", "%3b", "%2f", "%5c",
        "\\", "%25", "%", "%zz", "%c0%ae", "%ef%bc%8e", "%e2%80%ae", " ", "%20", "+", "%2B", "~", "*", "**", "@", ":", "'", "(", ")",
        "$", "&", "=", ",", "!", "[", "]", "{", "|", "^", "`", "\"", "<", "\u{e9}", "%C3%A9", "%00", "%0d%0a", "\t", "%7F", "-", "_",
    ]

    static func randomPath(_ rng: inout SeededGenerator) -> String {
        var path = ""
        for _ in 0..<Int.random(in: 1...5, using: &rng) {
            path += "/"
            for _ in 0..<Int.random(in: 0...3, using: &rng) { path += pieces.randomElement(using: &rng)! }
        }
        if Bool.random(using: &rng) { path += "/" }
        return path
    }

    /// An independent reading of an upstream request path: Foundation's URL parser, then
    /// percent-decoding each segment.
    static func upstreamSegments(_ encoded: String) -> [String]? {
        guard let components = URLComponents(string: "http://upstream.example" + encoded), components.fragment == nil,
            components.percentEncodedQuery == nil
        else { return nil }
        var parts = components.percentEncodedPath.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map(String.init)
        if parts.last == "" { parts.removeLast() }
        return parts.map { $0.removingPercentEncoding ?? "\u{FFFD}invalid" }
    }

    @Test func everyAcceptedPathReachesTheUpstreamAsMatched() throws {
        var rng = SeededGenerator(state: 20_261_130)
        let rules = try ["GET /users/*/profile", "GET /a/**", "GET /users/bob"].map(PolicyRule.init)
        var accepted = 0
        for _ in 0..<20_000 {
            let raw = Self.randomPath(&rng)
            guard let path = try? RequestPath(raw) else { continue }
            accepted += 1
            let encoded = path.encoded
            let seen = try #require(Self.upstreamSegments(encoded), "\(raw) → \(encoded) does not parse as a plain path")
            #expect(seen == path.segments, "\(raw) → \(encoded)")
            let reparsed = try RequestPath(encoded)
            #expect(reparsed.segments == path.segments && reparsed.encoded == encoded, "\(raw) is not stable")
            for rule in rules {
                #expect(rule.allows(method: "GET", path: path) == rule.allows(method: "GET", path: reparsed))
            }
            for segment in path.segments {
                let base = segment.prefix { $0 != ";" }
                #expect(!base.isEmpty && !base.allSatisfy { $0 == "." || $0 == " " }, "\(raw) has a dot segment")
                #expect(!segment.contains("/") && !segment.contains("\\"))
            }
        }
        #expect(accepted > 1000, "the generator must exercise accepted paths too (\(accepted))")
    }
}

@Suite struct ListenAddressTests {
    @Test(arguments: [
        ("127.0.0.1:8787", true), ("127.0.0.2:8787", true), ("127.255.0.9:1", true), ("[::1]:8787", true),
        ("[::ffff:127.0.0.1]:8787", true), ("localhost:8787", true), ("0.0.0.0:8787", false), ("[::]:8787", false),
        ("10.0.0.5:80", false), ("[2001:db8::1]:443", false),
    ])
    func classifiesAddresses(text: String, loopback: Bool) throws {
        #expect(try ListenAddress(text).isLoopback == loopback)
    }

    @Test(arguments: [
        "127.0.0.1.nip.invalid:8787", "localhost.evil.example:1", "::1:8787", "127.0.0.1", "127.0.0.1:", "127.0.0.1:99999",
        "127.0.0.1:-1", "127.0.0.1:8787x", "example.com:80", "[127.0.0.1]:80", "127.1:80", ":8787",
    ])
    func refusesAnythingThatIsNotPlainlyAnAddress(text: String) {
        #expect(throws: ListenAddress.Invalid.self) { try ListenAddress(text) }
    }

    @Test func theConfigAndTheServerAgree() throws {
        for text in ["[::1]:8787", "127.0.0.2:8787"] {
            let config = try ConfigLoader(environment: [:]).parse("[gateway]\nlisten = \"\(text)\"\n", path: nil)
            #expect(config.gateway.listen == text)
        }
        #expect(throws: ConfigError.self) {
            try ConfigLoader(environment: [:]).parse("[gateway]\nlisten = \"127.0.0.1.nip.invalid:8787\"\n", path: nil)
        }
        #expect(throws: ConfigError.self) { try ConfigLoader(environment: [:]).parse("[gateway]\nlisten = \"0.0.0.0:8787\"\n", path: nil) }
    }
}
