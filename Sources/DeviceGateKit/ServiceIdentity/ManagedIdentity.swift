#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// How to reach an Azure managed identity, as a profile configures it.
public struct ManagedIdentitySettings: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// Pick from the environment: App Service/Container Apps (`IDENTITY_ENDPOINT` +
        /// `IDENTITY_HEADER`), Azure Arc (`IDENTITY_ENDPOINT` + `IMDS_ENDPOINT`), else IMDS.
        case auto
        /// The VM Instance Metadata Service at 169.254.169.254.
        case imds
        case appService = "app_service"
        case arc
    }

    public var kind: Kind
    /// The resource the token is for, e.g. `https://graph.microsoft.com`.
    public var resource: String
    /// Overrides the endpoint (tests, a local metadata server).
    public var endpoint: URL?
    /// A user-assigned identity; at most one of these.
    public var clientID: String?
    public var objectID: String?
    public var resourceID: String?

    public init(
        kind: Kind = .auto, resource: String, endpoint: URL? = nil, clientID: String? = nil, objectID: String? = nil,
        resourceID: String? = nil
    ) {
        self.kind = kind
        self.resource = resource
        self.endpoint = endpoint
        self.clientID = clientID
        self.objectID = objectID
        self.resourceID = resourceID
    }

    /// What identifies tokens from this identity in the store.
    public var identity: String {
        "azure-managed-identity:\(kind.rawValue):\(resource):\(clientID ?? objectID ?? resourceID ?? "system")"
    }
}

/// Gets tokens from Azure's managed identity endpoints, with Azure's documented retries.
///
/// Three hosts speak three dialects of one protocol: IMDS wants `Metadata: true`, App Service
/// and Container Apps want the rotating `X-IDENTITY-HEADER`, and Arc answers the first request
/// with a 401 naming a key file whose contents authenticate the second. All send numbers as
/// strings. Retries follow Microsoft's guidance: 404, 429, 5xx and timeouts back off (about
/// 0, 2, 6, 14, 30 s); 410 means IMDS is updating and is retried for up to 70 s.
public struct ManagedIdentitySource: Sendable {
    public static let imdsEndpoint = URL(string: "http://169.254.169.254/metadata/identity/oauth2/token")!
    public static let arcTokenDirectory = "/var/opt/azcmagent/tokens"

    public let settings: ManagedIdentitySettings
    public let environment: [String: String]
    public let transport: any HTTPTransport
    public let time: any TimeSource
    /// Where Arc key files may live; a challenge naming any other path is refused.
    public let arcTokenDirectory: String

    public init(
        settings: ManagedIdentitySettings, environment: [String: String] = ProcessInfo.processInfo.environment,
        transport: any HTTPTransport,
        time: any TimeSource, arcTokenDirectory: String = Self.arcTokenDirectory
    ) {
        self.settings = settings
        self.environment = environment
        self.transport = transport
        self.time = time
        self.arcTokenDirectory = arcTokenDirectory
    }

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// The dialect in use and its endpoint, after looking at the environment.
    public func resolved() throws -> (ManagedIdentitySettings.Kind, URL) {
        let identityEndpoint = environment["IDENTITY_ENDPOINT"].flatMap(URL.init(string:))
        var kind = settings.kind
        if kind == .auto {
            if identityEndpoint != nil, environment["IDENTITY_HEADER"] != nil {
                kind = .appService
            } else if identityEndpoint != nil, environment["IMDS_ENDPOINT"] != nil {
                kind = .arc
            } else {
                kind = .imds
            }
        }
        if let endpoint = settings.endpoint { return (kind, endpoint) }
        switch kind {
        case .imds, .auto: return (.imds, Self.imdsEndpoint)
        case .appService, .arc:
            guard let identityEndpoint else {
                throw Failure(
                    description:
                        "managed_identity = \"\(kind.rawValue)\" needs IDENTITY_ENDPOINT in the environment (or identity_endpoint in the profile)"
                )
            }
            return (kind, identityEndpoint)
        }
    }

    public func acquire() async throws -> TokenSet {
        let (kind, endpoint) = try resolved()
        let url = try requestURL(kind: kind, endpoint: endpoint)
        var headers: [(name: String, value: String)] = [("Accept", "application/json")]
        var credentials: [(name: String, value: Secret)] = []
        switch kind {
        case .appService:
            guard let header = environment["IDENTITY_HEADER"] else {
                throw Failure(description: "App Service managed identity needs IDENTITY_HEADER in the environment")
            }
            credentials.append(("X-IDENTITY-HEADER", Secret(header)))
        default:
            headers.append(("Metadata", "true"))
        }
        var request = OutgoingRequest(method: "GET", url: url, headers: headers)
        request.credentialHeaders = credentials
        return try await send(request, kind: kind)
    }

    func requestURL(kind: ManagedIdentitySettings.Kind, endpoint: URL) throws -> URL {
        var parts = URLComponents(url: endpoint, resolvingAgainstBaseURL: false)!
        let version =
            switch kind {
            case .appService: "2019-08-01"
            case .arc: "2020-06-01"
            default: "2018-02-01"
            }
        var query = [URLQueryItem(name: "api-version", value: version), URLQueryItem(name: "resource", value: settings.resource)]
        let chosen = [settings.clientID, settings.objectID, settings.resourceID].compactMap { $0 }
        guard chosen.count <= 1 else {
            throw Failure(description: "set at most one of identity_client_id, identity_object_id and identity_resource_id")
        }
        if let id = settings.clientID { query.append(URLQueryItem(name: "client_id", value: id)) }
        if let id = settings.objectID { query.append(URLQueryItem(name: kind == .appService ? "principal_id" : "object_id", value: id)) }
        if let id = settings.resourceID { query.append(URLQueryItem(name: kind == .appService ? "mi_res_id" : "msi_res_id", value: id)) }
        // Strict percent-encoding (as MSAL's urlencode): resource URIs carry ':' and '/'.
        let encoded = query.map { "\(FormEncoding.escape($0.name))=\(FormEncoding.escape($0.value ?? ""))" }.joined(separator: "&")
        parts.percentEncodedQuery = [parts.percentEncodedQuery, encoded].compactMap { $0 }.joined(separator: "&")
        return parts.url!
    }

    func send(_ request: OutgoingRequest, kind: ManagedIdentitySettings.Kind) async throws -> TokenSet {
        let backoff: [Double] = [0, 2, 6, 14, 30]
        let started = time.now()
        var attempt = 0
        var request = request
        var answeredChallenge = false
        while true {
            let response: IncomingResponse
            do {
                response = try await transport.send(request)
            } catch let error as TransportError {
                guard attempt < backoff.count - 1 else {
                    throw Failure(description: "the managed identity endpoint is unreachable: \(error)")
                }
                attempt += 1
                try await time.sleep(seconds: backoff[attempt])
                continue
            }
            if kind == .arc, response.status == 401, !answeredChallenge {
                request.authorization = Secret("Basic " + (try arcChallengeSecret(response)))
                answeredChallenge = true
                continue
            }
            if response.status == 200 {
                guard let fields = OAuthFields.parse(response),
                    let tokens = TokenSet.from(fields, requestedScopes: [settings.resource], now: time.now())
                else {
                    throw Failure(description: "the managed identity endpoint answered \(response.shapeForDisplay) without a token")
                }
                return tokens
            }
            let error = OAuthFields.parse(response).flatMap { OAuthErrorResponse(fields: $0, httpStatus: response.status) }
            let retriable = response.status == 404 || response.status == 429 || response.status >= 500
            if response.status == 410, time.now().timeIntervalSince(started) < 70 {
                try await time.sleep(seconds: min(10, 70 - time.now().timeIntervalSince(started)))
                continue
            }
            if retriable, attempt < backoff.count - 1 {
                attempt += 1
                try await time.sleep(seconds: max(backoff[attempt], Quirks.retryAfter(response, now: time.now()) ?? 0))
                continue
            }
            throw Failure(
                description: "the managed identity endpoint refused: " + (error?.description ?? response.shapeForDisplay) + Self.hint(error)
            )
        }
    }

    /// Arc: `WWW-Authenticate: Basic realm=<key file>`; the file must be a `.key` of at most
    /// 4 KiB inside the agent's token directory, as the Azure SDKs require.
    func arcChallengeSecret(_ response: IncomingResponse) throws -> String {
        guard let challenge = response.header("www-authenticate"), let realm = challenge.firstRange(of: "realm=") else {
            throw Failure(description: "Azure Arc answered 401 without the key-file challenge")
        }
        let path = String(challenge[realm.upperBound...]).trimming { $0 == "\"" || $0 == " " }
        let resolved = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        let directory = URL(fileURLWithPath: arcTokenDirectory).standardizedFileURL.resolvingSymlinksInPath().path
        guard resolved.hasPrefix(directory + "/"), resolved.hasSuffix(".key") else {
            throw Failure(description: "Azure Arc named a key file outside \(arcTokenDirectory); refusing to read \(path)")
        }
        var status = stat()
        guard stat(resolved, &status) == 0, status.st_size <= 4096,
            let contents = FileManager.default.contents(atPath: resolved)
        else {
            throw Failure(
                description:
                    "cannot read the Azure Arc key file \(path) (it must be readable by this user: root or the himds group, and at most 4 KiB)"
            )
        }
        return String(decoding: contents, as: UTF8.self).trimmingWhitespaceAndNewlines()
    }

    static func hint(_ error: OAuthErrorResponse?) -> String {
        switch error?.rawCode {
        case "invalid_resource": " (the resource is unknown in this tenant; check `resource`)"
        case "bad_request_102": " (the Metadata header was missing)"
        case "unauthorized_client": " (this machine has no managed identity, or not the one named)"
        default: ""
        }
    }
}
