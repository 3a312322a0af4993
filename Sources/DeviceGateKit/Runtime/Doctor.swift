#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Plain-words checks of the config, the store and each provider, for `devicegate doctor`.
public struct Doctor: Sendable {
    public struct Check: Sendable {
        public enum Level: String, Sendable { case ok, warning, failure }
        public var level: Level
        public var subject: String
        public var detail: String

        public init(level: Level, subject: String, detail: String) {
            self.level = level
            self.subject = subject
            self.detail = detail
        }
    }

    public let transport: any HTTPTransport
    public let time: any TimeSource

    public init(transport: any HTTPTransport = AsyncHTTPTransport.shared, time: any TimeSource = SystemTimeSource()) {
        self.transport = transport
        self.time = time
    }

    /// - Parameter openStore: opens `[store]`; the executable's knows PostgreSQL too.
    public func run(
        configPath: String?, dataDir: String?, environment: [String: String] = ProcessInfo.processInfo.environment,
        openStore: StoreOpener = filesOnlyStoreOpener
    ) async -> [Check] {
        var checks: [Check] = []
        let paths = Paths(configOverride: configPath, dataDirOverride: dataDir, environment: environment)
        let config: DeviceGateConfig
        do {
            config = try ConfigLoader(environment: environment).load(path: paths.configFile, required: paths.configExplicit)
            let exists = FileManager.default.fileExists(atPath: paths.configFile)
            checks.append(
                Check(
                    level: config.profiles.isEmpty ? .failure : .ok, subject: "config",
                    detail: (exists ? paths.configFile : "no file at \(paths.configFile)") + ": "
                        + (config.profiles.isEmpty
                            ? "no profiles; add a [profiles.NAME] table (see `devicegate providers`)"
                            : "\(config.profiles.count) profile(s): \(config.profiles.keys.sorted().joined(separator: ", "))")))
        } catch {
            checks.append(Check(level: .failure, subject: "config", detail: String(describing: error)))
            return checks
        }

        var store: (any ProfileStore)?
        do {
            let local = try TokenStore(directory: paths.dataDirectory, keyFile: paths.keyFile)
            checks.append(
                Check(level: .ok, subject: "store", detail: "\(paths.dataDirectory) (0700), AES-256-GCM, \(local.key.source.label)"))
            if config.store.backend != .files {
                checks.append(Check(level: .ok, subject: "store", detail: "tokens kept in \(config.store.backend.rawValue)"))
            }
            let opened = try await openStore(config.store, local)
            checks += await opened.checks()
            store = opened
        } catch {
            checks.append(Check(level: .failure, subject: "store", detail: String(describing: error)))
        }

        for profile in config.profiles.values.sorted(by: { $0.name < $1.name }) {
            checks += await check(profile, store: store)
        }
        await store?.shutdown()
        return checks
    }

    func check(_ profile: Profile, store: (any ProfileStore)?) async -> [Check] {
        let subject = "profile \(profile.name)"
        var checks: [Check] = []
        if let source = profile.clientSecret {
            do {
                _ = try source.load()
                checks.append(Check(level: .ok, subject: subject, detail: "client secret readable from \(source)"))
            } catch {
                checks.append(Check(level: .failure, subject: subject, detail: String(describing: error)))
            }
        }
        if profile.scopes.isEmpty {
            checks.append(
                Check(level: .warning, subject: subject, detail: "no scopes configured; most providers then grant nothing useful"))
        }
        do {
            let provider = try await ProviderResolver(transport: transport).resolve(profile.provider)
            let device = try provider.deviceAuthorizationEndpoint()
            var detail = "\(provider.displayName): device sign-in at \(device.redactedForDisplay)"
            if let grants = provider.metadata.grantTypesSupported, !grants.contains(DeviceFlow.grantType) {
                detail += " (its discovery document does not list the device_code grant; it may still work)"
            }
            checks.append(Check(level: .ok, subject: subject, detail: detail))
            checks.append(await reachability(device, subject: subject))
        } catch {
            checks.append(Check(level: .failure, subject: subject, detail: String(describing: error)))
        }
        if let store {
            let status = await ProfileStatus.read(profile, store: store, now: time.now())
            if status.signedIn {
                checks.append(
                    Check(level: .ok, subject: subject, detail: "signed in" + (status.identity.map { " as \($0.displayName)" } ?? "")))
            } else {
                let problem = status.problem ?? "not signed in"
                checks.append(Check(level: problem == "not signed in" ? .warning : .failure, subject: subject, detail: problem))
            }
        }
        return checks
    }

    /// An empty POST to the device endpoint: any OAuth-shaped answer (usually 400) proves it is
    /// there and speaks OAuth; HTML or silence does not.
    func reachability(_ url: URL, subject: String) async -> Check {
        do {
            let response = try await transport.send(.form(url, []))
            if OAuthFields.parse(response) != nil || (200..<500).contains(response.status) && response.mediaType?.hasSuffix("json") == true
            {
                return Check(level: .ok, subject: subject, detail: "the identity provider answers (HTTP \(response.status))")
            }
            return Check(
                level: .failure, subject: subject, detail: "\(url.redactedForDisplay) answered \(response.shapeForDisplay), not OAuth")
        } catch {
            return Check(level: .failure, subject: subject, detail: String(describing: error))
        }
    }
}
