import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

@Suite struct TokenStoreTests {
    static func entry(_ profile: String = "work", access: String = "access-token-AAAA", refresh: String? = "refresh-token-BBBB")
        -> StoredProfile
    {
        StoredProfile(
            profile: profile, issuer: "https://idp.test", clientID: "cli",
            tokens: TokenSet(
                accessToken: Secret(access), refreshToken: refresh.map(Secret.init), idToken: Secret("id-token-CCCC"), scopes: ["openid"],
                expiresAt: Date(timeIntervalSince1970: 1_900_000_000), obtainedAt: Date(timeIntervalSince1970: 1_800_000_000)),
            identity: Identity(subject: "s", name: "Alice", email: "a@x.test", source: "id_token"),
            updatedAt: Date(timeIntervalSince1970: 1_800_000_000))
    }

    func mode(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? Int) ?? -1
    }

    @Test func roundTripsEncryptedWithPrivateModes() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try TokenStore(directory: dir.file("store"), keyFile: nil)
        try store.save(Self.entry())
        let loaded = try #require(try store.load("work"))
        #expect(loaded.tokens.accessToken.reveal() == "access-token-AAAA")
        #expect(loaded.tokens.refreshToken?.reveal() == "refresh-token-BBBB")
        #expect(loaded.identity?.name == "Alice")
        #expect(mode(dir.file("store")) == 0o700)
        #expect(mode(store.path(for: "work")) == 0o600)
        #expect(mode(dir.file("store/store.key")) == 0o600)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: store.path(for: "work")))
        for secret in ["access-token-AAAA", "refresh-token-BBBB", "id-token-CCCC", "Alice"] {
            #expect(bytes.range(of: Data(secret.utf8)) == nil, "plaintext \(secret) in the store file")
        }
        #expect(store.profiles() == ["work"])
        #expect(try store.load("other") == nil)
    }

    @Test func aFlippedByteIsReportedAsDamagedAndNothingIsDeleted() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try TokenStore(directory: dir.path, keyFile: nil)
        try store.save(Self.entry())
        var bytes = try Data(contentsOf: URL(fileURLWithPath: store.path(for: "work")))
        bytes[bytes.count - 5] ^= 0x01
        try bytes.write(to: URL(fileURLWithPath: store.path(for: "work")))
        #expect {
            _ = try store.load("work")
        } throws: { error in
            let text = "\(error)"
            return text.contains(store.path(for: "work")) && text.contains("damaged") && text.contains("devicegate login work")
        }
        #expect(FileManager.default.fileExists(atPath: store.path(for: "work")))
    }

    @Test func truncatedEmptyAndForeignFilesGetTheirOwnErrors() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try TokenStore(directory: dir.path, keyFile: nil)
        try store.save(Self.entry())
        let full = try Data(contentsOf: URL(fileURLWithPath: store.path(for: "work")))
        try full.prefix(20).write(to: URL(fileURLWithPath: store.path(for: "work")))
        #expect { _ = try store.load("work") } throws: { "\($0)".contains("truncated to 20 bytes") }
        try Data().write(to: URL(fileURLWithPath: store.path(for: "work")))
        #expect { _ = try store.load("work") } throws: { "\($0)".contains("empty") }
        try Data(#"{"access_token":"x"}"#.utf8).write(to: URL(fileURLWithPath: store.path(for: "work")))
        #expect { _ = try store.load("work") } throws: { "\($0)".contains("not a devicegate token file") }
    }

    @Test func aFileCopiedToAnotherProfileIsRefused() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try TokenStore(directory: dir.path, keyFile: nil)
        try store.save(Self.entry("work"))
        try FileManager.default.copyItem(atPath: store.path(for: "work"), toPath: store.path(for: "home"))
        #expect { _ = try store.load("home") } throws: { "\($0)".contains("copied from another profile") }
    }

    @Test func aDifferentKeyIsToldApartFromDamage() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let keyA = dir.write("a.key", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
        let keyB = dir.write("b.key", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
        try TokenStore(directory: dir.file("s"), keyFile: keyA).save(Self.entry())
        let other = try TokenStore(directory: dir.file("s"), keyFile: keyB)
        #expect { _ = try other.load("work") } throws: { "\($0)".contains("different store key") }
    }

    @Test func permissionsOthersCanReadAreRefusedAsSshDoes() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let loose = dir.write("loose.key", String(repeating: "k", count: 44), mode: 0o644)
        #expect { _ = try TokenStore(directory: dir.file("s1"), keyFile: loose) } throws: { "\($0)".contains("chmod 600 \(loose)") }

        let store = try TokenStore(directory: dir.file("s2"), keyFile: nil)
        try store.save(Self.entry())
        chmod(store.path(for: "work"), 0o640)
        #expect { _ = try store.load("work") } throws: { "\($0)".contains("mode 640") }

        try FileManager.default.createDirectory(
            atPath: dir.file("open"), withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
        #expect { _ = try TokenStore(directory: dir.file("open"), keyFile: nil) } throws: { "\($0)".contains("chmod 700") }
    }

    @Test func aLostKeyIsNeverSilentlyReplaced() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try TokenStore(directory: dir.path, keyFile: nil)
        try store.save(Self.entry())
        try FileManager.default.removeItem(atPath: dir.file("store.key"))
        #expect { _ = try TokenStore(directory: dir.path, keyFile: nil) } throws: {
            "\($0)".contains("store key") && "\($0)".contains("work")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("store.key")))
    }

    @Test func aKeyFileThatIsMissingOrTooShortIsExplained() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        #expect { _ = try TokenStore(directory: dir.file("s"), keyFile: dir.file("nope.key")) } throws: {
            "\($0)".contains("DEVICEGATE_KEY_FILE")
        }
        let short = dir.write("short.key", "tooshort")
        #expect { _ = try TokenStore(directory: dir.file("s"), keyFile: short) } throws: { "\($0)".contains("at least 32") }
    }

    @Test func writesLeaveNoTemporaryFilesBehind() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try TokenStore(directory: dir.path, keyFile: nil)
        for i in 0..<20 { try store.save(Self.entry(access: "token-\(i)")) }
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { !$0.hasSuffix(".lock") }
        #expect(names.sorted() == ["store.key", "work.dgt"])
        #expect(try store.load("work")?.tokens.accessToken.reveal() == "token-19")
    }

    @Test func theLockExcludesConcurrentWritersInOneProcess() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try TokenStore(directory: dir.path, keyFile: nil)
        try store.save(Self.entry(access: "0"))
        // Read-modify-write 40 times concurrently; without the lock increments would be lost.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<40 {
                group.addTask {
                    try await store.withLock("work") {
                        var entry = try store.load("work")!
                        let n = Int(entry.tokens.accessToken.reveal())!
                        try await Task.sleep(nanoseconds: 1_000_000)
                        entry.tokens.accessToken = Secret(String(n + 1))
                        try store.save(entry)
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try store.load("work")?.tokens.accessToken.reveal() == "40")
    }

    @Test func theLockWaitsForAnotherProcess() async throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try TokenStore(directory: dir.path, keyFile: nil)
        let marker = dir.file("released")
        // Another process (util-linux flock) takes the lock, says so, and writes the marker
        // just before it lets go.
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        holder.arguments = [store.lockPath(for: "work"), "-c", "echo locked; sleep 0.5; touch \(marker)"]
        let out = Pipe()
        holder.standardOutput = out
        try holder.run()
        _ = out.fileHandleForReading.availableData  // blocks until "locked"
        #expect(!FileManager.default.fileExists(atPath: marker))
        try await store.withLock("work") {
            #expect(FileManager.default.fileExists(atPath: marker), "got the lock while another process held it")
        }
        holder.waitUntilExit()
    }

    @Test func profileNamesCannotEscapeTheDirectory() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let store = try TokenStore(directory: dir.path, keyFile: nil)
        for bad in ["../x", "a/b", "", ".hidden", String(repeating: "a", count: 65)] {
            #expect { _ = try store.load(bad) } throws: { "\($0)".contains("not a valid profile name") }
        }
    }
}
