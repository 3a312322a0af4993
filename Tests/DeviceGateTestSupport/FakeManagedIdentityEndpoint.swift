import DeviceGateKit
import Foundation
import NIOConcurrencyHelpers

/// Azure's managed identity endpoints as they answer on the wire: IMDS (`Metadata: true`),
/// App Service (`X-IDENTITY-HEADER`) and Arc (401 with a key-file challenge, then Basic).
/// Numbers come as strings, errors as `{"error", "error_description"}`, as Microsoft documents.
public final class FakeManagedIdentityEndpoint: Sendable {
    public enum Dialect: Sendable { case imds, appService(header: String), arc(keyFile: String, secret: String) }

    public let server: LoopbackServer
    /// Answers to give before the real one (e.g. 404, 410, 429, 500), in order.
    private let faults: NIOLockedValueBox<[ScriptedResponse]>
    private let issued: NIOLockedValueBox<Int>

    public var url: URL { server.url("/metadata/identity/oauth2/token") }
    public var tokensIssued: Int { issued.withLockedValue { $0 } }
    public static func token(_ n: Int) -> String { "MI-ACCESS-TOKEN-\(n)" }

    public func inject(_ answers: [ScriptedResponse]) { faults.withLockedValue { $0 += answers } }

    public static func start(_ dialect: Dialect, expiresIn: Int = 3599) async throws -> FakeManagedIdentityEndpoint {
        let faults = NIOLockedValueBox<[ScriptedResponse]>([])
        let issued = NIOLockedValueBox(0)
        let server = try await LoopbackServer.start { request in
            let query = Dictionary(FormEncoding.decode(request.query ?? ""), uniquingKeysWith: { a, _ in a })
            guard request.path == "/metadata/identity/oauth2/token" else {
                return .json(401, ["error": "unknown_source", "error_description": "Bad request URI"])
            }
            switch dialect {
            case .imds, .arc:
                guard request.header("Metadata") == "true" else {
                    return .json(
                        400,
                        [
                            "error": "invalid_request", "error_description": "Required metadata header not specified",
                            "error_codes": "bad_request_102",
                        ])
                }
            case .appService(let header):
                guard request.header("X-IDENTITY-HEADER") == header else {
                    return .json(401, ["error": "unauthorized", "error_description": "X-IDENTITY-HEADER missing or wrong"])
                }
            }
            if case .arc(let keyFile, let secret) = dialect, request.header("Authorization") != "Basic \(secret)" {
                return ScriptedResponse(status: 401, headers: [("WWW-Authenticate", "Basic realm=\(keyFile)")])
            }
            guard query["api-version"] != nil, let resource = query["resource"] else {
                return .json(400, ["error": "invalid_request", "error_description": "resource and api-version are required"])
            }
            guard resource.hasPrefix("https://") else {
                return .json(
                    400,
                    [
                        "error": "invalid_resource",
                        "error_description": "AADSTS50001: The application named \(resource) was not found in the tenant.",
                    ])
            }
            if let fault = faults.withLockedValue({ $0.isEmpty ? nil : $0.removeFirst() }) { return fault }
            let n = issued.withLockedValue { value -> Int in
                value += 1
                return value
            }
            let now = Int(Date().timeIntervalSince1970)
            return .json(
                200,
                [
                    "access_token": token(n), "refresh_token": "", "expires_in": "\(expiresIn)", "expires_on": "\(now + expiresIn)",
                    "not_before": "\(now)", "resource": resource, "token_type": "Bearer",
                ])
        }
        return FakeManagedIdentityEndpoint(server: server, faults: faults, issued: issued)
    }

    private init(server: LoopbackServer, faults: NIOLockedValueBox<[ScriptedResponse]>, issued: NIOLockedValueBox<Int>) {
        self.server = server
        self.faults = faults
        self.issued = issued
    }

    public func stop() async { await server.stop() }
}
