/// A value that must never be printed.
///
/// Tokens, refresh tokens, client secrets and device codes travel through devicegate as `Secret`s.
/// Every textual rendering (`description`, `debugDescription`, string interpolation, `dump`,
/// `Mirror`) yields `<redacted>`, so a secret that slips into a log line, an error message or a
/// notifier message is harmless. Reading the value takes the deliberate, greppable call
/// ``reveal()``; the few places that do so are the wire (HTTP bodies), the encrypted store, and
/// `devicegate token`'s stdout.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    private let value: String

    public init(_ value: String) { self.value = value }

    /// The plain value. Call only where the secret must leave the process on purpose.
    public func reveal() -> String { value }

    public var isEmpty: Bool { value.isEmpty }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "Secret(<redacted>)" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
