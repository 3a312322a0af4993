import DeviceGateKit
import Foundation
import Testing

/// The type-level guarantee: a Secret renders as <redacted> however it is printed.
@Suite struct SecretTests {
    @Test func everyRenderingIsRedacted() {
        let secret = Secret("eyJhbGciOi.very.secret")
        var dumped = ""
        dump(secret, to: &dumped)
        struct Holder { let token: Secret }
        var dumpedHolder = ""
        dump(Holder(token: secret), to: &dumpedHolder)
        let renderings = [
            "\(secret)", String(describing: secret), String(reflecting: secret), dumped, dumpedHolder,
            "\(Holder(token: secret))", "\([secret])", "\(Optional(secret) as Any)",
        ]
        for text in renderings {
            #expect(!text.contains("very.secret"), "leaked: \(text)")
        }
        #expect(secret.reveal() == "eyJhbGciOi.very.secret")
    }

    @Test func requestsAndResponsesDoNotPrintCredentials() {
        let request = OutgoingRequest.form(
            URL(string: "https://idp.test/token?code=abc")!, [("refresh_token", "rt-secret")],
            authorization: Secret("Basic Y2xpOnNlY3JldA=="))
        let texts = ["\(request)", String(reflecting: request)]
        for text in texts {
            #expect(!text.contains("rt-secret") && !text.contains("Y2xpOnNlY3JldA") && !text.contains("code=abc"), "leaked: \(text)")
        }
        let response = IncomingResponse(
            status: 200, headers: [("Content-Type", "application/json")], body: Data(#"{"access_token":"at-secret"}"#.utf8))
        var dumped = ""
        dump(response, to: &dumped)
        for text in ["\(response)", String(reflecting: response), dumped] {
            #expect(!text.contains("at-secret"), "leaked: \(text)")
        }
    }

    @Test func tokenSetsAndStoredEntriesDoNotPrintTokens() {
        let tokens = TokenSet(accessToken: Secret("AT-9"), refreshToken: Secret("RT-9"), idToken: Secret("ID-9"), obtainedAt: Date())
        var dumped = ""
        dump(tokens, to: &dumped)
        for text in ["\(tokens)", String(reflecting: tokens), dumped] {
            #expect(!text.contains("AT-9") && !text.contains("RT-9") && !text.contains("ID-9"), "leaked: \(text)")
        }
    }
}
