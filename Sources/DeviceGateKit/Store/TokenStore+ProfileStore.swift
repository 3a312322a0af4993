#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// The files driver: one sealed file per profile, `flock(2)` for ``exclusively(_:_:)``, and a
/// hold as a file beside the tokens (`NAME.locked`, `NAME.frozen`). Unchanged on disk from
/// before the store had a protocol.
extension TokenStore: ProfileStore {
    public var posture: StorePosture {
        let store = self
        return StorePosture(backend: "files", keySource: key.source.label, location: { store.path(for: $0) })
    }

    public func exclusively<T: Sendable>(_ profile: String, _ body: () async throws -> T) async throws -> T {
        try await withLock(profile, body)
    }

    public func hold(_ kind: ProfileHoldKind, for profile: String) async throws -> ProfileLock? {
        try ProfileName.validate(profile)
        return ProfileLock.read(profile, kind: kind, in: directory)
    }

    public func place(_ kind: ProfileHoldKind, _ lock: ProfileLock) async throws {
        try ProfileName.validate(lock.profile)
        try lock.write(kind: kind, in: directory)
    }

    @discardableResult
    public func lift(_ kind: ProfileHoldKind, for profile: String) async throws -> Bool {
        try ProfileLock.remove(profile, kind: kind, in: directory)
    }

    /// Files cannot tell: another process's write is seen when the broker next reads.
    public func watch(_ changed: @escaping @Sendable (String?) async -> Void) async throws {}

    public func checks() async -> [Doctor.Check] { [] }

    public func shutdown() async {}
}
