import DeviceGateKit
import Foundation
import Testing

@Suite struct BodyPreviewTests {
    func preview(_ text: String, _ type: String? = "application/json") -> String? {
        BodyPreview.make(Array(text.utf8), contentType: type)
    }

    @Test func jsonSecretsAreMaskedAtAnyDepth() throws {
        let shown = try #require(
            preview(
                #"{"to":"bob@example.com","subject":"Hi","auth":{"password":"hunter2","apiKey":"k"},"items":[{"access_token":"abc"}]}"#
            ))
        #expect(shown.contains(#""to":"bob@example.com""#))
        #expect(shown.contains(#""subject":"Hi""#))
        for secret in ["hunter2", "\"k\"", "abc"] { #expect(!shown.contains(secret)) }
        #expect(shown.contains("•••"))
    }

    @Test func tokenShapedWordsAreMaskedInAnyText() throws {
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
        let shown = try #require(preview("note: use \(jwt) and ghp_16C7e42F292c6912E7710c838347Ae178B4a now", "text/plain"))
        #expect(!shown.contains(jwt))
        #expect(!shown.contains("ghp_16C7e42F292c6912E7710c838347Ae178B4a"))
        #expect(shown.hasPrefix("note: use ••• and ••• now"))
        #expect(preview("Quarterly numbers are attached", "text/plain") == "Quarterly numbers are attached")
    }

    @Test func formFieldsByName() {
        #expect(
            preview("user=bob&password=hunter2&client_secret=s", "application/x-www-form-urlencoded")
                == "user=bob&password=•••&client_secret=•••")
    }

    @Test func binaryEmptyAndUnknownBodiesGetNoPreview() {
        #expect(BodyPreview.make([0xff, 0xfe, 0x00], contentType: "application/octet-stream") == nil)
        #expect(BodyPreview.make([], contentType: "application/json") == nil)
        #expect(preview("\u{1}\u{2}binary", "text/plain") == nil)
        #expect(preview("PK zip", "application/zip") == nil)
    }

    @Test func longBodiesAreCut() throws {
        let shown = try #require(preview(String(repeating: "a b ", count: 500), "text/plain"))
        #expect(shown.count == BodyPreview.limit + 1)
        #expect(shown.hasSuffix("…"))
    }

    @Test func aHeldCallNamesQueryParametersNotValues() {
        let call = HeldCall(
            method: "POST", path: "/v1/send", query: "to=bob%40x&api%5Fkey=s3cret&to=carol&flag", body: Array("hi".utf8),
            contentType: "text/plain", preview: true)
        #expect(call.queryNames == ["to", "api_key", "flag"])
        #expect(call.bodySize == 2)
        #expect(call.bodySHA256 == "8f434346648f6b96df89dda901c5176b10a6d83961dd3c1ac88b59b2dc327aa4")
        #expect(call.preview == "hi")
        #expect(HeldCall(method: "POST", path: "/", query: nil, body: Array("hi".utf8), contentType: nil, preview: false).preview == nil)
    }
}
