import DeviceGateKit

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The tools devicegate offers over MCP, and the instructions that introduce them.
public enum Toolbox {
    /// - Parameter keeper: the access core `http_request` calls through; the tool is left out
    ///   when none of the profiles has an `upstream`.
    public static func tools(_ context: ProfileContext, keeper: Gatekeeper) -> [any MCPTool] {
        var tools: [any MCPTool] = [ListProfilesTool(context: context), SignInTool(context: context), SignInStatusTool(context: context)]
        let http = HTTPRequestTool(keeper: keeper, profiles: context.profiles)
        if !http.profiles.isEmpty { tools.append(http) }
        return tools
    }

    public static func instructions(_ context: ProfileContext) -> String {
        "devicegate holds the person's OAuth tokens for the profiles \(PolicyWords.list(context.names)) and uses them on your behalf: "
            + "you never see a token and must never ask for one, or for a password. list_profiles shows who is signed in and what each profile "
            + "allows; sign_in sends the person a code to approve on their own device; http_request calls a profile's API within its policy. "
            + "A refusal says why (forbidden, sign_in_required, locked, rate_limited): explain it to the person instead of looking for a way around it."
    }
}
