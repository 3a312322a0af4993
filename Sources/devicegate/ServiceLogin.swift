import ArgumentParser
import DeviceGateKit

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `login` on a service identity: nobody signs in, so check that a token can be had.
enum ServiceLogin {
    static func check(_ profile: Profile, workspace: Workspace, store: any ProfileStore, local: TokenStore, json: Bool) async throws {
        let what = profile.grant == .managedIdentity ? "an Azure managed identity" : "a client-credentials identity"
        if !json { StandardError.write("\(profile.name) is \(what): there is nothing to sign in to. Checking that a token can be had…") }
        let entry = try await workspace.broker(for: profile, store: store, local: local, command: "login").validEntry()
        if json {
            printJSON([
                "event": "service_token", "profile": .string(profile.name), "grant": .string(profile.grant.rawValue),
                "scopes": JSONValue(entry.tokens.scopes), "expires_at": JSONValue(entry.tokens.expiresAt.map(JSONTime.string)),
            ])
        } else {
            StandardError.write(
                "✓ \(profile.name): a token is available" + (entry.tokens.expiresAt.map { ", valid until \(JSONTime.string($0))" } ?? "")
                    + ". Use `devicegate token \(profile.name)`.")
        }
    }
}
