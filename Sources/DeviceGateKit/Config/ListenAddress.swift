#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#endif

/// A `HOST:PORT` to listen on, parsed once, in one place: an IPv4 literal, a bracketed IPv6
/// literal (`[::1]:8787`) or `localhost`.
///
/// Whether a listener is loopback decides whether agent keys are required, so the answer must
/// not depend on string prefixes (`127.0.0.1.nip.invalid` is a host name, not an address) or
/// on which check ran. Host names other than `localhost` are refused: what they resolve to can
/// change after the check.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// The address in canonical form (`127.0.0.1`, `::1`), ready to bind.
    public let host: String
    public let port: Int
    public let isLoopback: Bool
    let isIPv6: Bool

    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    public init(_ text: String) throws(Invalid) {
        func fail(_ why: String) -> Invalid {
            Invalid(description: "\"\(text)\" is not a listen address: \(why) (expected 127.0.0.1:8787, [::1]:8787 or 0.0.0.0:8787)")
        }
        guard let colon = text.lastIndex(of: ":") else { throw fail("no :PORT") }
        let portText = text[text.index(after: colon)...]
        guard !portText.isEmpty, portText.count <= 5, portText.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let port = Int(portText),
            port <= 65535
        else { throw fail("the port must be a number from 0 to 65535") }
        var host = String(text[..<colon])
        var bracketed = false
        if host.hasPrefix("["), host.hasSuffix("]"), host.count > 2 {
            host = String(host.dropFirst().dropLast())
            bracketed = true
        }
        if host.lowercased() == "localhost" {
            self.init(host: "127.0.0.1", port: port, isLoopback: true, isIPv6: false)
            return
        }
        var v4 = in_addr()
        var v6 = in6_addr()
        if !bracketed, inet_pton(AF_INET, host, &v4) == 1 {
            let bytes = withUnsafeBytes(of: v4.s_addr) { Array($0) }
            self.init(host: Self.text(v4), port: port, isLoopback: bytes[0] == 127, isIPv6: false)
        } else if bracketed, inet_pton(AF_INET6, host, &v6) == 1 {
            let bytes = withUnsafeBytes(of: v6) { Array($0) }
            let isOne = bytes[0..<15].allSatisfy { $0 == 0 } && bytes[15] == 1
            let mapped = bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xFF && bytes[11] == 0xFF
            self.init(host: Self.text(v6), port: port, isLoopback: isOne || (mapped && bytes[12] == 127), isIPv6: true)
        } else if host.contains(":") && !bracketed {
            throw fail("an IPv6 address must be in brackets")
        } else {
            throw fail("the host must be an IP address or localhost")
        }
    }

    init(host: String, port: Int, isLoopback: Bool, isIPv6: Bool) {
        self.host = host
        self.port = port
        self.isLoopback = isLoopback
        self.isIPv6 = isIPv6
    }

    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    static func text(_ address: in_addr) -> String {
        var address = address
        var buffer = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
        inet_ntop(AF_INET, &address, &buffer, socklen_t(buffer.count))
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func text(_ address: in6_addr) -> String {
        var address = address
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        inet_ntop(AF_INET6, &address, &buffer, socklen_t(buffer.count))
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
