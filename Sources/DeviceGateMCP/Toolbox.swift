import DeviceGateKit
import Foundation

/// The tools devicegate offers over MCP, and the instructions that introduce them.
public enum Toolbox {
    public static func tools(_ context: ProfileContext) -> [any MCPTool] {
        [ListProfilesTool(context: context), SignInTool(context: context), SignInStatusTool(context: context)]
    }

    public static func instructions(_ context: ProfileContext) -> String {
        "devicegate holds the person's OAuth tokens for the profiles \(PolicyWords.list(context.names)) and uses them on your behalf: "
            + "you never see a token and must never ask for one, or for a password. list_profiles shows who is signed in and what each profile "
            + "allows; sign_in sends the person a code to approve on their own device; http_request calls a profile's API within its policy. "
            + "A refusal says why (forbidden, sign_in_required, locked, rate_limited): explain it to the person instead of looking for a way around it."
    }
}
