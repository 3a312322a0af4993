import DeviceGateKit
import DeviceGateTestSupport
import Foundation
import Testing

/// A symbolic link planted at any path devicegate keeps a file at is refused, never followed:
/// not to read another file, nor to create, lock or overwrite one.
@Suite struct StoreLinkTests {
    /// A store with one saved profile, and a file elsewhere that links will point at.
    struct Planted {
        let dir = TemporaryDirectory("storelink")
        var storeDir: String { dir.file("store") }
        var victim: String { dir.file("victim") }
        let victimText = "the victim's own content\n"

        init() throws {
            let store = try TokenStore(directory: dir.file("store"), keyFile: nil)
            try store.save(TokenStoreTests.entry())
            _ = dir.write("victim", victimText)
        }

        /// Replaces whatever is at `path` with a link to the victim.
        func plant(at path: String) throws {
            try? FileManager.default.removeItem(atPath: path)
            try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: victim)
        }

        var victimUntouched: Bool { (try? String(contentsOfFile: victim, encoding: .utf8)) == victimText }
        func isLink(_ path: String) -> Bool {
            (try? FileManager.default.attributesOfItem(atPath: path)[.type] as? FileAttributeType) == .typeSymbolicLink
        }
    }

    static func isLinkError(_ error: any Error, _ path: String) -> Bool {
        guard case StoreError.symbolicLink(let at) = error, at == path else { return false }
        return "\(error)".contains("is a symbolic link") && "\(error)".contains("rm \(path)")
    }

    @Test func aLinkAtATokenFileIsRefusedForReadingAndWriting() throws {
        let p = try Planted()
        defer { p.dir.remove() }
        let store = try TokenStore(directory: p.storeDir, keyFile: nil)
        let path = store.path(for: "work")
        // A link to a real token file is refused too: what it points at is not devicegate's choice.
        let copy = p.dir.file("copy.dgt")
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: copy)
        #expect { _ = try store.load("work") } throws: { Self.isLinkError($0, path) }

        try p.plant(at: path)
        #expect { _ = try store.load("work") } throws: { Self.isLinkError($0, path) }
        #expect { try store.save(TokenStoreTests.entry()) } throws: { Self.isLinkError($0, path) }
        #expect(p.victimUntouched)
        #expect(p.isLink(path), "the link is left for a person to look at")
        // A link to nowhere is refused as well, not created through.
        try FileManager.default.removeItem(atPath: p.victim)
        #expect { _ = try store.load("work") } throws: { Self.isLinkError($0, path) }
        #expect { try store.save(TokenStoreTests.entry()) } throws: { Self.isLinkError($0, path) }
        #expect(!FileManager.default.fileExists(atPath: p.victim), "a write went through the dangling link")
    }

    @Test func aLinkAtTheGeneratedKeyIsRefused() throws {
        let p = try Planted()
        defer { p.dir.remove() }
        let keyPath = p.storeDir + "/store.key"
        // The victim is a perfectly good key: still refused.
        let key = p.dir.write("key", Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString())
        try FileManager.default.removeItem(atPath: keyPath)
        try FileManager.default.createSymbolicLink(atPath: keyPath, withDestinationPath: key)
        #expect { _ = try TokenStore(directory: p.storeDir, keyFile: nil) } throws: { Self.isLinkError($0, keyPath) }

        // With no store file yet, a dangling link must not become the new key's path.
        let fresh = p.dir.file("fresh")
        try FileManager.default.createDirectory(atPath: fresh, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        try FileManager.default.createSymbolicLink(atPath: fresh + "/store.key", withDestinationPath: p.dir.file("attacker-key"))
        #expect { _ = try TokenStore(directory: fresh, keyFile: nil) } throws: { Self.isLinkError($0, fresh + "/store.key") }
        #expect(!FileManager.default.fileExists(atPath: p.dir.file("attacker-key")))
    }

    @Test func aKeyFileNamedFromOutsideMayBeALink() throws {
        // DEVICEGATE_KEY_FILE points outside the data directory; Kubernetes mounts secrets as links.
        let dir = TemporaryDirectory("storelink")
        defer { dir.remove() }
        let real = dir.write("real-key", Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString())
        try FileManager.default.createSymbolicLink(atPath: dir.file("key"), withDestinationPath: real)
        let store = try TokenStore(directory: dir.file("store"), keyFile: dir.file("key"))
        try store.save(TokenStoreTests.entry())
        #expect(try store.load("work") != nil)
    }

    @Test func aLinkAtALockFileIsRefused() async throws {
        let p = try Planted()
        defer { p.dir.remove() }
        let store = try TokenStore(directory: p.storeDir, keyFile: nil)
        let lock = store.lockPath(for: "work")
        try p.plant(at: lock)
        await #expect { try await store.withLock("work") {} } throws: { Self.isLinkError($0, lock) }
        // Dangling: the lock must not be created at the link's target.
        try FileManager.default.removeItem(atPath: p.victim)
        await #expect { try await store.withLock("work") {} } throws: { Self.isLinkError($0, lock) }
        #expect(!FileManager.default.fileExists(atPath: p.victim))
    }

    @Test func aLinkAtTheBreakersLockStillLocksAndIsNeverWrittenThrough() throws {
        let p = try Planted()
        defer { p.dir.remove() }
        let path = ProfileLock.path("work", in: p.storeDir)
        try p.plant(at: path)
        let lock = try #require(ProfileLock.read("work", in: p.storeDir), "a planted link unlocked the profile")
        #expect(lock.reason.contains("symbolic link"))
        #expect { try ProfileLock(profile: "work", reason: "r", lockedAt: Date()).write(in: p.storeDir) } throws: {
            Self.isLinkError($0, path)
        }
        #expect(p.victimUntouched)
    }

    @Test func aFIFOOrDirectoryAtATokenFileIsRefusedWithoutHanging() throws {
        let p = try Planted()
        defer { p.dir.remove() }
        let store = try TokenStore(directory: p.storeDir, keyFile: nil)
        let path = store.path(for: "work")
        try FileManager.default.removeItem(atPath: path)
        #expect(mkfifo(path, 0o600) == 0)
        #expect { _ = try store.load("work") } throws: { error in
            if case StoreError.notARegularFile(path) = error { true } else { false }
        }
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        #expect { _ = try store.load("work") } throws: { error in
            if case StoreError.notARegularFile(path) = error { true } else { false }
        }
    }
}
