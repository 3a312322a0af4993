import NIOConcurrencyHelpers

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

/// Keeps the token the gateway injected out of what an upstream sends back.
///
/// An upstream that reflects request headers (an echo endpoint, a debug page, an error that
/// quotes the request) would hand the agent the very token the gateway exists to hide. The
/// gateway knows the exact tokens it sent, so it looks for them (raw, JSON-escaped and
/// percent-encoded) in the answer: a header that contains one is dropped, and in the body each
/// occurrence is overwritten with a same-length run of `*`, so `Content-Length` stays true.
/// The body is scanned as a stream: the last `longest - 1` bytes of each chunk are held back
/// until the next chunk arrives, so an occurrence split across chunks is caught too.
public struct TokenRedactor: Sendable {
    private let needles: [[UInt8]]
    private let holdBack: Int
    private var carry: [UInt8] = []
    /// Occurrences overwritten so far.
    public private(set) var redactions = 0

    static let mask = UInt8(ascii: "*")

    public init(tokens: [Secret]) {
        self.init(variants: tokens.map(Self.variants(of:)))
    }

    /// From variants already worked out (``Variants`` caches them per token, off the hot path).
    public init(variants: [[[UInt8]]]) {
        // A handful of forms: compared pairwise rather than hashed, since hashing a token-long
        // array byte by byte on every request showed up in the gateway's profile.
        var unique: [[UInt8]] = []
        for form in variants.joined() where !unique.contains(form) { unique.append(form) }
        needles = unique.sorted { $0.count > $1.count }
        holdBack = max(0, (needles.first?.count ?? 1) - 1)
    }

    /// The forms a token takes when an upstream reflects it: raw, JSON-escaped, percent-encoded.
    public static func variants(of token: Secret) -> [[UInt8]] {
        let raw = token.reveal()
        guard raw.utf8.count >= 8 else { return [] }  // too short to search for meaningfully
        return [Array(raw.utf8), Array(raw.replacing("/", with: "\\/").utf8), Array(PercentEncoding.encode(raw).utf8)]
    }

    /// The variants of the token in use, worked out once per token rather than once per
    /// request: a token changes about hourly, a gateway answers thousands of calls meanwhile.
    public final class Variants: Sendable {
        public init() {}

        private let last = NIOLockedValueBox<(token: Secret, variants: [[UInt8]])?>(nil)

        public func of(_ token: Secret) -> [[UInt8]] {
            if let cached = last.withLockedValue({ $0 }), cached.token == token { return cached.variants }
            let variants = TokenRedactor.variants(of: token)
            last.withLockedValue { $0 = (token, variants) }
            return variants
        }
    }

    public var isEmpty: Bool { needles.isEmpty }

    /// Whether a header value carries a token.
    public func contains(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        return needles.contains { Self.firstMatch(of: $0, in: bytes, from: 0) != nil }
    }

    /// Feeds one chunk; returns the bytes that are safe to send now.
    public mutating func feed(_ chunk: some Collection<UInt8>) -> [UInt8] {
        guard !needles.isEmpty else { return Array(chunk) }
        var buffer = carry
        buffer.append(contentsOf: chunk)
        redactions += Self.redact(&buffer, needles: needles)
        let ready = max(0, buffer.count - holdBack)
        carry = Array(buffer[ready...])
        buffer.removeLast(buffer.count - ready)
        return buffer
    }

    /// The bytes still held back, at the end of the body.
    public mutating func finish() -> [UInt8] {
        defer { carry = [] }
        return carry
    }

    private static func redact(_ buffer: inout [UInt8], needles: [[UInt8]]) -> Int {
        var found = 0
        for needle in needles {
            var from = 0
            while let start = firstMatch(of: needle, in: buffer, from: from) {
                for index in start..<(start + needle.count) { buffer[index] = mask }
                found += 1
                from = start + needle.count
            }
        }
        return found
    }

    static func firstMatch(of needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard let first = needle.first, haystack.count - from >= needle.count else { return nil }
        let last = haystack.count - needle.count
        return haystack.withUnsafeBufferPointer { hay in
            needle.withUnsafeBufferPointer { pin in
                var index = from
                while index <= last {
                    if hay[index] == first, memcmp(hay.baseAddress! + index, pin.baseAddress!, pin.count) == 0 { return index }
                    index += 1
                }
                return nil
            }
        }
    }
}
