import DeviceGateKit
import Foundation

/// A token endpoint's answer, through the classifier every grant uses; or (second bit of the
/// first byte) a whole device flow: the device authorization answer, then the token polls, on
/// the fuzz clock (slow_down, intervals, Retry-After), each answer separated by `\n--\n`.
enum TokenAnswerTarget {
    static func run(_ data: Data) {
        var reader = InputReader(data)
        let flags = reader.byte()
        if flags & 2 == 2 { return deviceFlow(reader) }
        let response = FuzzResponse.read(&reader)
        let answer = TokenEndpointAnswer.classify(
            response, requestedScopes: ["openid", "offline_access"], now: FuzzFixtures.now, isRefresh: flags & 1 == 1)
        switch answer {
        case .tokens(let tokens):
            FuzzChecks.showable(tokens.expiresAt, "a token's expiry")
            _ = tokens.isUsable(at: FuzzFixtures.now, minimumTTL: 300)
        case .error(let error):
            _ = error.description
        case .unexpected(let response):
            _ = response.shapeForDisplay
        }
        _ = Quirks.retryAfter(response, now: FuzzFixtures.now)
    }

    static func deviceFlow(_ reader: InputReader) {
        let answers = reader.parts(separatedBy: "\n--\n", limit: 8).map { part -> IncomingResponse in
            var partReader = InputReader(part)
            return FuzzResponse.read(&partReader)
        }
        let flow = DeviceFlow(
            deviceAuthorizationEndpoint: URL(string: "https://idp.example.test/device")!,
            tokenEndpoint: URL(string: "https://idp.example.test/token")!, client: OAuthClient(id: "fuzz-client"),
            transport: CannedTransport(answers), time: FuzzTime())
        _ = runBlocking { () -> Bool in
            guard let code = try? await flow.requestCode(scopes: ["openid"]) else { return false }
            FuzzChecks.showable(code.expiresAt, "a device code's expiry")
            _ = try? await flow.waitForTokens(code, requestedScopes: ["openid"])
            return true
        }
    }
}

/// A discovery document, and the candidate URLs for an issuer taken from a config.
enum DiscoveryTarget {
    static func run(_ data: Data) {
        var reader = InputReader(data)
        let issuer = reader.line()
        if let url = URL(string: issuer) { _ = Discovery.candidates(for: url) }
        let document = IncomingResponse(status: 200, headers: [("Content-Type", "application/json")], body: reader.rest)
        let issuerURL = URL(string: "https://idp.example.test/realm")!
        let transport = CannedTransport(Array(repeating: document, count: 3))
        _ = runBlocking { try? await Discovery(transport: transport).discover(issuer: issuerURL) }
    }
}

/// Azure's metadata services: the token answer, errors with Retry-After, IMDS's 410, and Arc's
/// 401 challenge naming a key file (in a fixed directory holding one real key file).
enum ManagedIdentityTarget {
    static let arcDirectory: String = {
        let path = FuzzFixtures.directory + "/arc"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: path + "/fuzz.key", contents: Data("fuzz-arc-key".utf8))
        return path
    }()

    static func run(_ data: Data) {
        var reader = InputReader(data)
        let kinds: [ManagedIdentitySettings.Kind] = [.imds, .appService, .arc, .auto]
        let kind = kinds[Int(reader.byte()) % kinds.count]
        let answers = reader.parts(separatedBy: "\n--\n", limit: 4).map { part -> IncomingResponse in
            var partReader = InputReader(part)
            return FuzzResponse.read(&partReader)
        }
        let settings = ManagedIdentitySettings(
            kind: kind, resource: "https://management.azure.com/", endpoint: URL(string: "http://127.0.0.1:1/token"))
        let source = ManagedIdentitySource(
            settings: settings, environment: ["IDENTITY_HEADER": "fuzz", "IDENTITY_ENDPOINT": "http://127.0.0.1:1/token"],
            transport: CannedTransport(answers), time: FuzzTime(), arcTokenDirectory: arcDirectory)
        let tokens = runBlocking { try? await source.acquire() }
        FuzzChecks.showable(tokens?.expiresAt, "a managed identity token's expiry")
    }
}
