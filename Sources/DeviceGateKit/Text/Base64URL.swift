#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// base64url without padding (RFC 4648 §5): JWT parts, certificate thumbprints, agent keys and
/// the short codes in approval messages.
public enum Base64URL {
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        String(
            Data(bytes).base64EncodedString().compactMap { character -> Character? in
                switch character {
                case "+": "-"
                case "/": "_"
                case "=": nil
                default: character
                }
            })
    }

    /// The bytes, or nil when `text` is not base64url (without padding, as in a JWT).
    public static func decode(_ text: some StringProtocol) -> Data? {
        guard !text.contains(where: { $0 == "+" || $0 == "/" || $0 == "=" }) else { return nil }
        var base64 = String(
            text.map { character -> Character in
                switch character {
                case "-": "+"
                case "_": "/"
                default: character
                }
            })
        while base64.utf8.count % 4 != 0 { base64 += "=" }
        return Data(base64Encoded: base64)
    }
}
