import DeviceGateKit
import Foundation
import Testing

@Suite struct ApprovalConfigTests {
    let loader = ConfigLoader(environment: [:])

    func parse(_ keys: String) throws -> GatewaySettings? {
        try loader.parse(
            """
            [profiles.work]
            provider = "github"
            client_id = "c"
            upstream = "https://graph.example"
            allow = ["GET /v1.0/me/**", "POST /v1.0/me/sendMail", "DELETE /v1.0/me/messages/*"]
            \(keys)
            """, path: "config.toml"
        ).profiles["work"]?.gateway
    }

    func error(_ keys: String) -> String {
        do {
            _ = try parse(keys)
            return "no error"
        } catch {
            return String(describing: error)
        }
    }

    @Test func theIssuesExampleIsRead() throws {
        let settings = try #require(
            try parse(
                """
                approve = ["POST /v1.0/me/sendMail", "DELETE /**"]
                approval_timeout = 90
                approval_preview = false
                token_access = "approve"
                """))
        #expect(settings.approval.rules.map(\.description) == ["POST /v1.0/me/sendMail", "DELETE /**"])
        #expect(settings.approval.timeout == 90)
        #expect(settings.approval.preview == false)
        #expect(settings.tokenAccess == .approve)
        let path = try RequestPath("/v1.0/me/messages/42")
        #expect(settings.rule(needingApproval: "DELETE", path)?.description == "DELETE /**")
        #expect(settings.rule(needingApproval: "GET", path) == nil)
    }

    @Test func defaultsHoldNothing() throws {
        let settings = try #require(try parse(""))
        #expect(settings.approval == ApprovalPolicy(rules: [], timeout: 120, preview: true))
        #expect(settings.tokenAccess == .allow)
    }

    @Test func anApproveRuleNoAllowedCallCanMatchIsRefused() {
        #expect(error(#"approve = ["POST /v1.0/me/sendmail"]"#).contains("matches no call that `allow` permits"))
        #expect(error(#"approve = ["PUT /**"]"#).contains("\"PUT /**\" matches no call"))
        #expect(error(#"approve = ["GET /v2/**"]"#).contains("matches no call"))
        // Narrower, wider and overlapping rules all hold something allowed.
        #expect(error(#"approve = ["GET /v1.0/me/photo", "* /v1.0/**", "DELETE /*/me/messages/7"]"#) == "no error")
    }

    @Test func badValuesAreNamed() {
        #expect(error(#"token_access = "sometimes""#).contains("token_access must be one of allow, approve, deny"))
        #expect(error("approval_timeout = 0").contains("approval_timeout must be a positive whole number"))
        #expect(error("approval_timeout = 7200").contains("at most 3600 seconds"))
        #expect(error(#"approval_preview = "yes""#).contains("approval_preview must be true or false"))
        #expect(error(#"approve = ["sendMail"]"#).contains("profiles.work.approve"))
        #expect(error("approval_timout = 5").contains("did you mean `approval_timeout`"))
    }

    @Test func approvalNeedsAnUpstream() {
        let text = "[profiles.w]\nprovider = \"github\"\nclient_id = \"c\"\ntoken_access = \"deny\"\n"
        #expect(throws: ConfigError.self) { try loader.parse(text, path: nil) }
    }
}
