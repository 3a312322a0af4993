/// The last component of a file path and the path without it, as `NSString`'s
/// `lastPathComponent` and `deletingLastPathComponent` gave them (trailing slashes ignored,
/// the root kept), without bridging to `NSString`, which links all of Foundation.
public enum PathComponents {
    /// `/a/b` → `/a`, `/a` → `/`, and `a` → `.` (the directory a relative name is in; NSString
    /// answered "" on macOS and trapped on Linux), "" for "".
    public static func parent(of path: String) -> String {
        let trimmed = withoutTrailingSlashes(path)
        guard let slash = trimmed.lastIndex(of: "/") else { return trimmed.isEmpty ? "" : "." }
        if slash == trimmed.startIndex { return "/" }
        return String(withoutTrailingSlashes(trimmed[..<slash]))
    }

    /// `/a/b/` → `b`, `/` → `/`.
    public static func last(of path: String) -> String {
        let trimmed = withoutTrailingSlashes(path)
        guard trimmed != "/", let slash = trimmed.lastIndex(of: "/") else { return String(trimmed) }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    private static func withoutTrailingSlashes(_ path: some StringProtocol) -> Substring {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        return trimmed
    }
}
