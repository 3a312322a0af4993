#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// What happens during a sign-in, as the people and programs watching it need to know.
///
/// The type holds no ``Secret``: the device code, tokens and client secret cannot be put into an
/// event, so no notifier can send them anywhere. The user code is not secret: the person must
/// read it, and it is useless without their own sign-in.
public enum SignInEvent: Sendable, Equatable {
    case codeIssued(CodeIssued)
    case signedIn(SignedIn)
    case alreadySignedIn(profile: String, identity: Identity?, expiresAt: Date?)
    case declined(profile: String, message: String?)
    case expired(profile: String)
    case failed(profile: String, message: String)
    /// Not an ending: polling goes on (slow_down, clock drift, network trouble).
    case warning(profile: String, message: String)

    public struct CodeIssued: Sendable, Equatable {
        public var profile: String
        public var provider: String
        public var scopes: [String]
        public var userCode: String
        public var verificationURI: String
        public var verificationURIComplete: String?
        public var expiresAt: Date
        public var expiresIn: Int
        public var interval: Int
        public var message: String?

        public init(
            profile: String, provider: String, scopes: [String], userCode: String, verificationURI: String,
            verificationURIComplete: String?, expiresAt: Date, expiresIn: Int, interval: Int, message: String?
        ) {
            self.profile = profile
            self.provider = provider
            self.scopes = scopes
            self.userCode = userCode
            self.verificationURI = verificationURI
            self.verificationURIComplete = verificationURIComplete
            self.expiresAt = expiresAt
            self.expiresIn = expiresIn
            self.interval = interval
            self.message = message
        }
    }

    public struct SignedIn: Sendable, Equatable {
        public var profile: String
        public var identity: Identity?
        public var scopes: [String]
        public var expiresAt: Date?

        public init(profile: String, identity: Identity?, scopes: [String], expiresAt: Date?) {
            self.profile = profile
            self.identity = identity
            self.scopes = scopes
            self.expiresAt = expiresAt
        }
    }

    public var profile: String {
        switch self {
        case .codeIssued(let e): e.profile
        case .signedIn(let e): e.profile
        case .alreadySignedIn(let p, _, _), .declined(let p, _), .expired(let p), .failed(let p, _), .warning(let p, _): p
        }
    }

    /// True for the events that end a sign-in.
    public var isFinal: Bool {
        switch self {
        case .codeIssued, .warning: false
        default: true
        }
    }
}
