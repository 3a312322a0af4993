import DeviceGateKit
import NIOSSL
import PostgresNIO

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A `postgres://` URL, checked before anything connects.
///
/// The URL may carry a password, so it arrives as a ``Secret`` and only ``display`` (no
/// password) is ever printed. Anything devicegate does not understand is refused rather than
/// ignored: a misspelt `sslmode` silently falling back to plain text would be worse than an
/// error.
public struct DatabaseURL: Sendable, CustomStringConvertible {
    /// libpq's modes; `verify-ca` is refused, as it checks the chain but not the host name.
    public enum TLSMode: String, Sendable, CaseIterable {
        case disable, prefer, require
        case verifyFull = "verify-full"
    }

    public let host: String
    public let port: Int
    public let username: String
    let password: Secret?
    public let database: String
    public let tlsMode: TLSMode
    /// `sslrootcert`: a CA file for `verify-full` (the system's roots otherwise).
    public let rootCertificate: String?

    static let parameters = ["sslmode", "sslrootcert", "application_name"]

    public init(_ secret: Secret) throws {
        let text = secret.reveal().trimmingWhitespaceAndNewlines()
        func fail(_ why: String) -> ConfigError { ConfigError(file: nil, "the database URL is unusable: \(why)") }
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
            throw fail("it is not a URL; expected postgres://USER:PASSWORD@HOST:PORT/DATABASE?sslmode=require")
        }
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw fail("the scheme is \"\(scheme)\"; expected postgres:// or postgresql://")
        }
        guard let host = components.host, !host.isEmpty else { throw fail("it names no host") }
        guard let user = components.user, !user.isEmpty else { throw fail("it names no user (postgres://USER@HOST/DATABASE)") }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains(Character("/")) else {
            throw fail("it names no database (postgres://USER@HOST/DATABASE)")
        }
        if let port = components.port, !(1...65535).contains(port) { throw fail("the port is out of range") }
        // A user or database name with URL punctuation in it is a URL pasted wrong (and may carry
        // the password, which the display form would then show): refused, and not echoed.
        for (what, name) in [("user", PercentEncoding.decode(user) ?? user), ("database", PercentEncoding.decode(database) ?? database)]
        where !name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_.$-".contains($0)) }) {
            throw fail("the \(what) name may hold only letters, digits, _ . $ and - (is the URL pasted twice?)")
        }
        var mode = TLSMode.prefer
        var root: String?
        for item in components.queryItems ?? [] {
            guard Self.parameters.contains(item.name) else {
                // Named only when it looks like a parameter's name: a mistyped URL can put the
                // password (or a second URL) where a name should be.
                let plausible = item.name.count <= 32 && item.name.allSatisfy { $0.isASCII && ($0.isLetter || $0 == "_") }
                throw fail(
                    "unknown parameter \(plausible ? "`\(item.name)`" : "(a name that is not a parameter name, not shown)") (devicegate understands \(Self.parameters.joined(separator: ", ")))"
                )
            }
            switch item.name {
            case "sslmode":
                guard let value = item.value, let parsed = TLSMode(rawValue: value) else {
                    throw fail(
                        "sslmode must be one of \(TLSMode.allCases.map(\.rawValue).joined(separator: ", ")) (verify-ca is refused: it does not check the host name)"
                    )
                }
                mode = parsed
            case "sslrootcert":
                // A file path; URL punctuation in it is a URL pasted wrong, and not echoed.
                guard let value = item.value, value.hasPrefix("/"),
                    !value.contains(where: { $0 == "@" || $0 == ":" || $0.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F } })
                else { throw fail("sslrootcert must be an absolute file path (is the URL pasted twice?)") }
                root = value
            default: break
            }
        }
        self.host = host
        self.port = components.port ?? 5432
        self.username = PercentEncoding.decode(user) ?? user
        self.password = components.password.map { Secret(PercentEncoding.decode($0) ?? $0) }
        self.database = PercentEncoding.decode(database) ?? database
        self.tlsMode = mode
        self.rootCertificate = root
    }

    /// What printing the URL shows: ``display``, never a stored field a mistyped URL could have
    /// filled with the password.
    public var description: String { display }

    /// The URL without its password, for `status`, `doctor` and errors.
    public var display: String { "postgres://\(username)@\(host):\(port)/\(database)?sslmode=\(tlsMode.rawValue)" }

    /// TLS as the URL asks: `require` encrypts without checking the certificate, as libpq does;
    /// `verify-full` checks the chain and the host name. nil for `disable`.
    func tlsConfiguration() -> TLSConfiguration? {
        guard tlsMode != .disable else { return nil }
        var context = TLSConfiguration.makeClientConfiguration()
        if tlsMode == .verifyFull {
            context.certificateVerification = .fullVerification
            if let rootCertificate { context.trustRoots = .file(rootCertificate) }
        } else {
            context.certificateVerification = .none
        }
        return context
    }

    /// A connection's configuration: the shared one, and the sessions that must be their own
    /// (the refresh lock, which lives exactly as long as its session, and the change feed).
    func connectionConfiguration() throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS =
            switch (tlsMode, tlsConfiguration()) {
            case (.prefer, let context?): .prefer(try NIOSSLContext(configuration: context))
            case (_, let context?): .require(try NIOSSLContext(configuration: context))
            case (_, nil): .disable
            }
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password?.reveal(), database: database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }
}
