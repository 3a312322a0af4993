import ArgumentParser
import DeviceGateKit

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

/// Joins the hard-wrapped lines of each paragraph so argument-parser can wrap them to the
/// terminal; indented lines (examples, config snippets) and blank lines are kept as written.
func prose(_ text: String) -> String {
    var out: [String] = []
    var paragraph: [String] = []
    func flush() {
        if !paragraph.isEmpty { out.append(paragraph.joined(separator: " ")) }
        paragraph = []
    }
    for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
        if line.isEmpty || line.hasPrefix(" ") {
            flush()
            out.append(line)
        } else {
            paragraph.append(line)
        }
    }
    flush()
    return out.joined(separator: "\n")
}

/// Help, usage errors and completion output as argument-parser renders them, except that the
/// usage line (and a usage error's `Help:` line) is wrapped to the terminal like everything
/// else: argument-parser prints them on one line (130 characters for `exec`). Words stay whole,
/// and so do bracketed options (`[--env <name> ...]`); continuation lines align under the first.
enum HelpText {
    static func wrapUsage(_ text: String, columns: Int) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let line = String(line)
            guard line.count > columns, let label = ["USAGE: ", "Usage: ", "Help:  "].first(where: line.hasPrefix) else { return line }
            let indent = String(repeating: " ", count: label.count)
            var lines: [String] = []
            var current = label
            for unit in units(of: String(line.dropFirst(label.count))) {
                if current.count > label.count, current.count + 1 + unit.count > columns {
                    lines.append(current)
                    current = indent + unit
                } else {
                    current += (current.count > label.count ? " " : "") + unit
                }
            }
            lines.append(current)
            return lines.joined(separator: "\n")
        }.joined(separator: "\n")
    }

    /// The synopsis split at spaces outside brackets: `devicegate`, `exec`, `[--env <name> ...]`.
    static func units(of synopsis: String) -> [String] {
        var units: [String] = []
        var current = ""
        var depth = 0
        for character in synopsis {
            if character == "[" || character == "<" { depth += 1 }
            if character == "]" || character == ">" { depth = max(depth - 1, 0) }
            if character == " ", depth == 0 {
                if !current.isEmpty { units.append(current) }
                current = ""
            } else {
                current.append(character)
            }
        }
        if !current.isEmpty { units.append(current) }
        return units
    }

    /// The width argument-parser wraps to: `COLUMNS`, else the terminal's, else 80.
    static var columns: Int {
        if let value = ProcessInfo.processInfo.environment["COLUMNS"], let n = Int(value), n > 0 { return n }
        var size = winsize()
        if ioctl(STDOUT_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 { return Int(size.ws_col) }
        return 80
    }
}

extension DeviceGate {
    /// argument-parser's `main(_:)`, with its messages passed through ``HelpText/wrapUsage(_:columns:)``.
    static func runWrappingUsage() async {
        do {
            var command = try await asyncParseAsRoot(nil)
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            let text = HelpText.wrapUsage(fullMessage(for: error), columns: HelpText.columns)
            if !text.isEmpty {
                if code == .success {
                    print(text)
                } else {
                    StandardStream.error.write(text + "\n")
                }
            }
            exitProcess(code.rawValue)
        }
    }
}
