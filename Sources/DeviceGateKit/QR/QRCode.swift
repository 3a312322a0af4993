import CQRencode

#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// A QR code from Debian's libqrencode, rendered for a terminal.
public struct QRCode: Sendable {
    public let size: Int
    let modules: [Bool]

    /// Encodes `text` at error-correction level L (smallest code; the URL is also printed).
    public init?(_ text: String) {
        guard let code = QRcode_encodeString(text, 0, QR_ECLEVEL_L, QR_MODE_8, 1) else { return nil }
        defer { QRcode_free(code) }
        let width = Int(code.pointee.width)
        size = width
        modules = (0..<(width * width)).map { code.pointee.data[$0] & 1 == 1 }
    }

    public func isDark(_ x: Int, _ y: Int) -> Bool {
        guard x >= 0, y >= 0, x < size, y < size else { return false }
        return modules[y * size + x]
    }

    /// Two rows per line with half blocks, dark on light, with the 2-module quiet zone scanners
    /// need. Fits an 80-column terminal for URLs up to about 100 characters.
    public func terminalString() -> String {
        let quiet = 2
        var out = ""
        var y = -quiet
        while y < size + quiet {
            var line = ""
            for x in -quiet..<(size + quiet) {
                switch (isDark(x, y), isDark(x, y + 1)) {
                case (false, false): line += "█"
                case (true, false): line += "▄"
                case (false, true): line += "▀"
                case (true, true): line += " "
                }
            }
            out += line + "\n"
            y += 2
        }
        return out
    }
}
