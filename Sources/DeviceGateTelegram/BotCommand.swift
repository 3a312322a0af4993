#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A command read from a chat message: `/auth work`, `/status@devicegate_bot`.
public struct BotCommand: Sendable, Equatable {
    public var name: String
    public var arguments: [String]

    public init(name: String, arguments: [String] = []) {
        self.name = name
        self.arguments = arguments
    }

    /// Parses a message text. Returns nil for text that is not a command, and for a command
    /// addressed to another bot (`/auth@otherbot`), which in a group is not ours to answer.
    public static func parse(_ text: String, botUsername: String?) -> BotCommand? {
        let words = text.split(whereSeparator: { $0.isWhitespace }).map(String.init)
        guard let first = words.first, first.hasPrefix("/"), first.count > 1 else { return nil }
        let parts = first.dropFirst().split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        if parts.count == 2 {
            guard let botUsername, parts[1].lowercased() == botUsername.lowercased() else { return nil }
        }
        let name = parts[0].lowercased()
        guard !name.isEmpty, name.count <= 32, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
            return nil
        }
        return BotCommand(name: name, arguments: Array(words.dropFirst()))
    }
}
