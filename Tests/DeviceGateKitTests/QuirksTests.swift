import DeviceGateKit
import Foundation
import Testing

/// One test per provider quirk named in `Quirks`.
@Suite struct QuirksTests {
    func response(_ status: Int, _ type: String?, _ body: String, headers: [(String, String)] = []) -> IncomingResponse {
        IncomingResponse(status: status, headers: (type.map { [("Content-Type", $0)] } ?? []) + headers, body: Data(body.utf8))
    }

    @Test func githubFormEncodedAnswerIsReadByContentType() {
        let fields = Quirks.decodeBody(
            response(
                200, "application/x-www-form-urlencoded",
                "device_code=abc&expires_in=900&interval=5&user_code=WDJB-MJHT&verification_uri=https%3A%2F%2Fgithub.com%2Flogin%2Fdevice"))
        #expect(fields?.string("verification_uri") == "https://github.com/login/device")
        #expect(fields?.int("expires_in") == 900)
    }

    @Test func jsonIsReadByContentTypeAndBySniffingWhenUntyped() {
        #expect(Quirks.decodeBody(response(200, "application/json; charset=utf-8", #"{"a":"1"}"#))?.string("a") == "1")
        #expect(Quirks.decodeBody(response(200, nil, #"{"a":"2"}"#))?.string("a") == "2")
        #expect(Quirks.decodeBody(response(500, "text/html", "<html>oops</html>")) == nil)
        #expect(Quirks.decodeBody(response(400, "application/json", "")) == nil)
    }

    @Test func numbersSentAsStringsAreIntegers() {
        let fields = OAuthFields.parseJSON(Data(#"{"expires_in":"3599","interval":"5","n":7,"f":"x"}"#.utf8))!
        #expect(fields.int("expires_in") == 3599)
        #expect(fields.int("interval") == 5)
        #expect(fields.int("n") == 7)
        #expect(fields.int("f") == nil)
    }

    @Test func microsoftAndGithubErrorSpellingsAreNormalised() {
        #expect(Quirks.normalizedErrorCode("authorization_declined") == "access_denied")
        #expect(Quirks.normalizedErrorCode("bad_verification_code") == "invalid_grant")
        #expect(Quirks.normalizedErrorCode("incorrect_device_code") == "invalid_grant")
        #expect(Quirks.normalizedErrorCode("token_expired") == "expired_token")
        #expect(Quirks.normalizedErrorCode("scope_invalid") == "invalid_scope")
        #expect(Quirks.normalizedErrorCode("slow_down") == "slow_down")
    }

    @Test func microsoftsMessageServesAsTheDescription() {
        let fields = OAuthFields.parseJSON(Data(#"{"error":"authorization_declined","message":"The user declined."}"#.utf8))!
        let error = OAuthErrorResponse(code: fields.string("error")!, description: fields.string("message"), httpStatus: 400)
        #expect(error.code == "access_denied")
        #expect("\(error)" == "authorization_declined: The user declined.")
    }

    @Test func googlesVerificationURLIsTheVerificationURI() {
        let fields = OAuthFields.parseJSON(
            Data(#"{"device_code":"d","user_code":"U","verification_url":"https://www.google.com/device"}"#.utf8))!
        #expect(Quirks.verificationURI(fields) == "https://www.google.com/device")
    }

    @Test func githubsHTTP200WithAnErrorIsAnError() {
        let answer = TokenEndpointAnswer.classify(
            response(200, "application/json", #"{"error":"authorization_pending"}"#), requestedScopes: [], now: Date())
        guard case .error(let e) = answer else { Issue.record("expected an error, got \(answer)"); return }
        #expect(e.code == "authorization_pending")
    }

    @Test func anEmptyBodied400OnRefreshIsInvalidGrant() {
        let empty = response(400, nil, "")
        guard case .error(let e) = TokenEndpointAnswer.classify(empty, requestedScopes: [], now: Date(), isRefresh: true) else {
            Issue.record("expected invalid_grant")
            return
        }
        #expect(e.code == "invalid_grant")
        // On other grants an empty 400 says nothing, so it stays "unexpected".
        guard case .unexpected = TokenEndpointAnswer.classify(empty, requestedScopes: [], now: Date()) else {
            Issue.record("expected unexpected")
            return
        }
    }

    @Test func githubsCommaSeparatedScopesAreSplit() {
        #expect(Quirks.scopeList("repo,gist") == ["repo", "gist"])
        #expect(Quirks.scopeList("openid  email") == ["openid", "email"])
    }

    @Test func retryAfterAcceptsSecondsAndHTTPDates() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        #expect(Quirks.retryAfter(response(429, nil, "", headers: [("Retry-After", "12")]), now: now) == 12)
        let later = response(503, nil, "", headers: [("Retry-After", "Fri, 15 Jan 2027 08:00:30 GMT")])
        #expect(Quirks.retryAfter(later, now: Date(timeIntervalSince1970: 1_800_000_000)) ?? 0 > 0)
        #expect(Quirks.retryAfter(response(429, nil, ""), now: now) == nil)
    }

    @Test func glewlwydsPublicClientRevocationNeedsABearer() {
        #expect(Quirks.revocationNeedsBearer(response(401, nil, "")))
        #expect(!Quirks.revocationNeedsBearer(response(200, nil, "")))
    }

    @Test func formEncodingEscapesEverythingButUnreserved() {
        #expect(FormEncoding.encode([("scope", "a b&c=d+e/f")]) == "scope=a%20b%26c%3Dd%2Be%2Ff")
        #expect(FormEncoding.decode("a=b+c&d=%2B").map { "\($0.0)=\($0.1)" } == ["a=b c", "d=+"])
    }
}
