/// Unicode compatibility normalisation (NFKC) as far as the path checks need it, without
/// Foundation's `precomposedStringWithCompatibilityMapping` (which links ICU and its 34 MB of
/// data): every scalar whose NFKC form contains `/`, `\\`, `.`, ` ` or `;`, with that form. Other
/// scalars are left alone: their NFKC forms hold none of these, so for the checks they are the same.
enum CompatibilityFolding {
    /// `text` with every scalar of the table replaced by its NFKC form.
    static func folded(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar.value > 0x7F, let mapped = table[scalar.value] {
                out.append(contentsOf: mapped.unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    /// Generated from Unicode 14.0.0 (Python's unicodedata):
    /// `[(c, nfkc) for c in range(0x80, 0x110000) if (nfkc := normalize("NFKC", chr(c))) != chr(c)
    /// and any(x in nfkc for x in "/\\. ;")]`.
    static let table: [UInt32: String] = [
        0xA0: " ", 0xA8: " \u{308}", 0xAF: " \u{304}", 0xB4: " \u{301}", 0xB8: " \u{327}", 0x2D8: " \u{306}", 0x2D9: " \u{307}",
        0x2DA: " \u{30A}", 0x2DB: " \u{328}", 0x2DC: " \u{303}", 0x2DD: " \u{30B}", 0x37A: " \u{345}", 0x37E: ";",
        0x384: " \u{301}", 0x385: " \u{308}\u{301}", 0x1FBD: " \u{313}", 0x1FBF: " \u{313}", 0x1FC0: " \u{342}",
        0x1FC1: " \u{308}\u{342}", 0x1FCD: " \u{313}\u{300}", 0x1FCE: " \u{313}\u{301}", 0x1FCF: " \u{313}\u{342}",
        0x1FDD: " \u{314}\u{300}", 0x1FDE: " \u{314}\u{301}", 0x1FDF: " \u{314}\u{342}", 0x1FED: " \u{308}\u{300}",
        0x1FEE: " \u{308}\u{301}", 0x1FFD: " \u{301}", 0x1FFE: " \u{314}", 0x2000: " ", 0x2001: " ", 0x2002: " ", 0x2003: " ",
        0x2004: " ", 0x2005: " ", 0x2006: " ", 0x2007: " ", 0x2008: " ", 0x2009: " ", 0x200A: " ", 0x2017: " \u{333}",
        0x2024: ".", 0x2025: "..", 0x2026: "...", 0x202F: " ", 0x203E: " \u{305}", 0x205F: " ", 0x2100: "a/c", 0x2101: "a/s",
        0x2105: "c/o", 0x2106: "c/u", 0x2488: "1.", 0x2489: "2.", 0x248A: "3.", 0x248B: "4.", 0x248C: "5.", 0x248D: "6.",
        0x248E: "7.", 0x248F: "8.", 0x2490: "9.", 0x2491: "10.", 0x2492: "11.", 0x2493: "12.", 0x2494: "13.", 0x2495: "14.",
        0x2496: "15.", 0x2497: "16.", 0x2498: "17.", 0x2499: "18.", 0x249A: "19.", 0x249B: "20.", 0x3000: " ",
        0x309B: " \u{3099}", 0x309C: " \u{309A}", 0x33C2: "a.m.", 0x33C7: "Co.", 0x33D8: "p.m.", 0xFC5E: " \u{64C}\u{651}",
        0xFC5F: " \u{64D}\u{651}", 0xFC60: " \u{64E}\u{651}", 0xFC61: " \u{64F}\u{651}", 0xFC62: " \u{650}\u{651}",
        0xFC63: " \u{651}\u{670}",
        0xFDFA: "\u{635}\u{644}\u{649} \u{627}\u{644}\u{644}\u{647} \u{639}\u{644}\u{64A}\u{647} \u{648}\u{633}\u{644}\u{645}",
        0xFDFB: "\u{62C}\u{644} \u{62C}\u{644}\u{627}\u{644}\u{647}", 0xFE14: ";", 0xFE19: "...", 0xFE30: "..",
        0xFE49: " \u{305}", 0xFE4A: " \u{305}", 0xFE4B: " \u{305}", 0xFE4C: " \u{305}", 0xFE52: ".", 0xFE54: ";",
        0xFE68: "\u{5C}", 0xFE70: " \u{64B}", 0xFE72: " \u{64C}", 0xFE74: " \u{64D}", 0xFE76: " \u{64E}", 0xFE78: " \u{64F}",
        0xFE7A: " \u{650}", 0xFE7C: " \u{651}", 0xFE7E: " \u{652}", 0xFF0E: ".", 0xFF0F: "/", 0xFF1B: ";", 0xFF3C: "\u{5C}",
        0xFFE3: " \u{304}", 0x1F100: "0.",
    ]
}
