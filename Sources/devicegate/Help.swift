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
