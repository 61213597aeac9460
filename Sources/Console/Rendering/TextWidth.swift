/// Terminal column widths. glibc's `wcwidth` depends on the process locale (it answers -1 for
/// every non-ASCII scalar under "C", which is what tests run in), so the console carries its
/// own small table: combining marks are 0 wide, East Asian wide/fullwidth ranges 2, the rest 1.
/// Box-drawing, block and braille characters are 1, which is what glibc says under UTF-8.
public enum TextWidth {
    public static func columns(of c: Character) -> Int {
        guard let first = c.unicodeScalars.first else { return 0 }
        let p = first.properties
        if p.generalCategory == .nonspacingMark || p.generalCategory == .enclosingMark || p.generalCategory == .format {
            return 0
        }
        return isWide(first.value) ? 2 : 1
    }

    public static func columns(of s: String) -> Int {
        s.reduce(0) { $0 + columns(of: $1) }
    }

    /// Cuts `s` to at most `width` columns, ending in "…" when something was dropped.
    public static func truncate(_ s: String, to width: Int) -> String {
        guard width > 0 else { return "" }
        if columns(of: s) <= width { return s }
        var out = "", used = 0
        for c in s {
            let w = columns(of: c)
            if used + w > width - 1 { break }
            out.append(c); used += w
        }
        return out + "…"
    }

    /// As `truncate`, but keeps the end: "…ation/027.png", for paths whose file name matters most.
    public static func truncateLeading(_ s: String, to width: Int) -> String {
        String(truncate(String(s.reversed()), to: width).reversed())
    }

    private static let wideRanges: [ClosedRange<UInt32>] = [
        0x1100...0x115F, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
        0xA000...0xA4CF, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE30...0xFE4F, 0xFF00...0xFF60,
        0xFFE0...0xFFE6, 0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x3FFFD,
    ]

    private static func isWide(_ v: UInt32) -> Bool {
        v >= 0x1100 && wideRanges.contains { $0.contains(v) }
    }
}

extension TextWidth {
    /// Joins short status parts with two spaces, starting a new line where the next would overflow.
    static func wrapParts(_ parts: [String], width: Int) -> [String] {
        var lines: [String] = []
        for p in parts {
            if let last = lines.last, columns(of: last) + 2 + columns(of: p) <= width {
                lines[lines.count - 1] = last + "  " + p
            } else {
                lines.append(p)
            }
        }
        return lines
    }
}
