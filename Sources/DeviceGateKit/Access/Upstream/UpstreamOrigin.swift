import NIOCore

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Where a profile's calls go: the scheme, host and port of its upstream, parsed once when the
/// gate is built so that the request path never parses a URL again, and the pool key under
/// which keep-alive connections are shared (a connection is only ever reused for the origin it
/// was opened to, so a token never reaches another host).
public struct UpstreamOrigin: Hashable, Sendable, CustomStringConvertible {
    /// `https`: the connection is wrapped in TLS with the pool's trust settings.
    public let tls: Bool
    /// The host, lowercased, without the brackets of an IPv6 literal.
    public let host: String
    public let port: Int

    /// - Throws: ``UpstreamFailure`` for anything but an `http` or `https` URL with a host.
    public init(url: URL) throws {
        switch url.scheme?.lowercased() {
        case "http": tls = false
        case "https": tls = true
        default: throw UpstreamFailure(.invalidOrigin, "the upstream must be an http or https URL")
        }
        guard var host = url.host, !host.isEmpty else {
            throw UpstreamFailure(.invalidOrigin, "the upstream URL has no host")
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") }) else {
            throw UpstreamFailure(.invalidOrigin, "the upstream URL's host is not a plain host name or address")
        }
        let port = url.port ?? (tls ? 443 : 80)
        guard (1...65535).contains(port) else { throw UpstreamFailure(.invalidOrigin, "the upstream URL's port is out of range") }
        self.host = host.lowercased()
        self.port = port
    }

    /// The `Host` header: the host (bracketed if IPv6) and the port unless it is the scheme's.
    public var authority: String {
        let name = host.contains(":") ? "[" + host + "]" : host
        return port == (tls ? 443 : 80) ? name : name + ":" + String(port)
    }

    /// The TLS server name (SNI, and the name the certificate must carry); nil for an IP
    /// address, whose certificate is then checked against the address itself.
    var serverName: String? { (try? SocketAddress(ipAddress: host, port: 0)) == nil ? host : nil }

    public var description: String { (tls ? "https://" : "http://") + authority }
}
