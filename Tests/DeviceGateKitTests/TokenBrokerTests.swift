import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

@Suite struct TokenBrokerTests {
    struct Setup {
        let idp: FakeIdentityProvider
        let dir: TemporaryDirectory
        let time = ManualTime()
        let store: TokenStore
        var profile: Profile { idp.profile() }
        func broker() -> TokenBroker { TokenBroker(profile: profile, store: store, transport: AsyncHTTPTransport.shared, time: time) }
        func cleanup() async {
            await idp.stop()
            dir.remove()
        }

        /// Stores tokens #1 as if signed in, with `remaining` seconds of validity.
        func signedIn(remaining: Double) throws {
            idp.update {
                $0.issued = 1
                $0.liveRefreshToken = FakeIdentityProvider.refreshToken(1)
            }
            try store.save(
                StoredProfile(
                    profile: profile.name, issuer: profile.issuerIdentity, clientID: profile.clientID,
                    tokens: TokenSet(
                        accessToken: Secret(FakeIdentityProvider.accessToken(1)),
                        refreshToken: Secret(FakeIdentityProvider.refreshToken(1)),
                        scopes: ["openid"], expiresAt: time.now().addingTimeInterval(remaining), obtainedAt: time.now()),
                    identity: nil, updatedAt: time.now()))
        }
    }

    static func setup() async throws -> Setup {
        let idp = try await FakeIdentityProvider.start()
        let dir = TemporaryDirectory()
        return Setup(idp: idp, dir: dir, store: try TokenStore(directory: dir.path, keyFile: nil))
    }

    @Test func aValidCachedTokenIsReturnedWithoutAskingTheProvider() async throws {
        let s = try await Self.setup()
        try s.signedIn(remaining: 3000)
        #expect(try await s.broker().accessToken().reveal() == FakeIdentityProvider.accessToken(1))
        #expect(s.idp.server.requests.isEmpty)
        await s.cleanup()
    }

    @Test func aTokenNearExpiryIsRefreshedAndTheRotatedRefreshTokenStored() async throws {
        let s = try await Self.setup()
        try s.signedIn(remaining: 100)  // under the 300 s minimum
        #expect(try await s.broker().accessToken().reveal() == FakeIdentityProvider.accessToken(2))
        let stored = try #require(try s.store.load("work"))
        #expect(stored.tokens.refreshToken?.reveal() == FakeIdentityProvider.refreshToken(2))
        #expect(stored.tokens.expiresAt == s.time.now().addingTimeInterval(3600))
        // The rotated token works for the next refresh; the old one would have been refused.
        s.time.advance(3400)
        #expect(try await s.broker().accessToken().reveal() == FakeIdentityProvider.accessToken(3))
        #expect(s.idp.snapshot.refreshes == 2)
        await s.cleanup()
    }

    @Test func manyConcurrentCallersShareOneRefresh() async throws {
        let s = try await Self.setup()
        try s.signedIn(remaining: 10)
        let broker = s.broker()
        let tokens = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<100 { group.addTask { try await broker.accessToken().reveal() } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(tokens == [FakeIdentityProvider.accessToken(2)])
        #expect(s.idp.snapshot.refreshes == 1)
        await s.cleanup()
    }

    @Test func separateBrokersSerialiseOnTheStoreLock() async throws {
        // Two brokers stand in for two processes: each has its own in-memory state and only
        // the file lock and the re-read keep them from refreshing twice.
        let s = try await Self.setup()
        try s.signedIn(remaining: 10)
        let brokers = (0..<8).map { _ in s.broker() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for broker in brokers { group.addTask { _ = try await broker.accessToken() } }
            try await group.waitForAll()
        }
        #expect(s.idp.snapshot.refreshes == 1)
        await s.cleanup()
    }

    @Test func aRefusedRefreshMeansSignInAndDropsTheDeadRefreshToken() async throws {
        let s = try await Self.setup()
        try s.signedIn(remaining: 0)
        s.idp.update { $0.liveRefreshToken = "rotated-elsewhere" }
        await #expect {
            _ = try await s.broker().accessToken()
        } throws: { error in
            guard case BrokerError.signInRequired(_, let reason) = error else { return false }
            return reason.contains("refused the refresh token")
        }
        #expect(try s.store.load("work")?.tokens.refreshToken == nil)
        await #expect { _ = try await s.broker().accessToken() } throws: { "\($0)".contains("no refresh token is held") }
        #expect(s.idp.snapshot.refreshes == 1)  // the dead token is not tried again
        await s.cleanup()
    }

    @Test func aProviderOutageKeepsTheRefreshToken() async throws {
        let s = try await Self.setup()
        try s.signedIn(remaining: 0)
        s.idp.update { $0.refreshAnswer = .html(503) }
        await #expect {
            _ = try await s.broker().accessToken()
        } throws: { error in
            if case BrokerError.refreshFailed(_, let why) = error { return why.contains("HTTP 503") } else { return false }
        }
        #expect(try s.store.load("work")?.tokens.refreshToken?.reveal() == FakeIdentityProvider.refreshToken(1))
        await s.cleanup()
    }

    @Test func notSignedInOrRepointedProfilesNeedASignIn() async throws {
        let s = try await Self.setup()
        await #expect { _ = try await s.broker().accessToken() } throws: { "\($0)".contains("not signed in") }
        try s.signedIn(remaining: 3000)
        var moved = s.profile
        moved.provider.issuer = "https://elsewhere.example"
        let broker = TokenBroker(profile: moved, store: s.store, transport: AsyncHTTPTransport.shared, time: s.time)
        await #expect { _ = try await broker.accessToken() } throws: { "\($0)".contains("another provider or client") }
        await s.cleanup()
    }
}
