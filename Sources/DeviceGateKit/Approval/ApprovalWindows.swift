#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// "Approve for 15 minutes": the same rule, for the same agent on the same profile, passes
/// unasked until the window closes. Nothing wider: another rule or another agent asks again.
public actor ApprovalWindows {
    struct Key: Hashable {
        let profile: String
        let agent: String
        let rule: String

        init(_ request: ApprovalRequest) {
            profile = request.profile
            agent = request.agent
            rule = request.rule
        }
    }

    private var windows: [Key: Date] = [:]

    public init() {}

    /// The end of the window covering `request` at `now`, if one is open.
    public func covering(_ request: ApprovalRequest, now: Date) -> Date? {
        let key = Key(request)
        guard let until = windows[key] else { return nil }
        guard now < until else {
            windows[key] = nil
            return nil
        }
        return until
    }

    public func open(for request: ApprovalRequest, until: Date) {
        windows[Key(request)] = until
    }

    /// Closes every window of `profile`: a freeze or a kill ends what was granted.
    public func close(profile: String) {
        windows = windows.filter { $0.key.profile != profile }
    }
}
