/// How many colours the terminal can show, from richest to none.
public enum ColorDepth: String, CaseIterable, Sendable {
    case direct, xterm256 = "256", ansi16 = "16", ansi8 = "8", monochrome = "none"

    /// Chooses the depth from what ncurses reports (`COLORS` after `start_color`), which is
    /// authoritative because ncurses can only emit what the terminfo entry describes. Without
    /// curses (plain captures) the environment decides: COLORTERM=truecolor|24bit or a
    /// "-direct" TERM means 24-bit, "256color" means 256, "dumb" or no TERM means none.
    public static func detect(environment: [String: String], cursesColors: Int?) -> ColorDepth {
        if let colors = cursesColors {
            switch colors {
            case (1 << 24)...: return .direct
            case 256...: return .xterm256
            case 16...: return .ansi16
            case 8...: return .ansi8
            default: return .monochrome
            }
        }
        let term = environment["TERM"] ?? ""
        let colorTerm = (environment["COLORTERM"] ?? "").lowercased()
        if colorTerm == "truecolor" || colorTerm == "24bit" || term.contains("direct") { return .direct }
        if term.contains("256color") { return .xterm256 }
        if term.isEmpty || term == "dumb" { return .monochrome }
        return .ansi16
    }

    /// True when the user's terminal claims 24-bit colour but TERM names a palette-only entry;
    /// `Screen` then tries the matching "-direct" terminfo entry so ncurses can emit RGB.
    public static func wantsDirectUpgrade(environment: [String: String]) -> Bool {
        let term = environment["TERM"] ?? ""
        let colorTerm = (environment["COLORTERM"] ?? "").lowercased()
        return (colorTerm == "truecolor" || colorTerm == "24bit") && term.hasPrefix("xterm") && !term.contains("direct")
    }

    public func quantize(_ color: CellColor) -> TerminalColor {
        guard case .rgb(let c) = color else { return .terminalDefault }
        switch self {
        case .direct: return .rgb(c)
        case .xterm256: return .index(Palette.xterm256Index(c))
        case .ansi16: return .index(Palette.nearest(c, among: 0..<16))
        case .ansi8: return .index(Palette.nearest(c, among: 0..<8))
        case .monochrome: return .terminalDefault
        }
    }
}

/// A colour as the terminal is told it: its own default, a palette index, or 24-bit RGB.
public enum TerminalColor: Hashable, Sendable {
    case terminalDefault
    case index(Int)
    case rgb(RGB)
}

/// The xterm palette: 16 system colours (xterm's defaults; real terminals vary, which is why
/// 256-colour output never picks them), the 6×6×6 cube and the 24-step grey ramp.
public enum Palette {
    static let cubeLevels: [UInt8] = [0, 95, 135, 175, 215, 255]

    static let system: [RGB] = [
        0x000000, 0xcd0000, 0x00cd00, 0xcdcd00, 0x0000ee, 0xcd00cd, 0x00cdcd, 0xe5e5e5,
        0x7f7f7f, 0xff0000, 0x00ff00, 0xffff00, 0x5c5cff, 0xff00ff, 0x00ffff, 0xffffff,
    ].map { RGB(UInt8($0 >> 16), UInt8($0 >> 8 & 0xff), UInt8($0 & 0xff)) }

    public static func rgb(ofIndex i: Int) -> RGB {
        switch i {
        case 0..<16: return system[i]
        case 16..<232:
            let n = i - 16
            return RGB(cubeLevels[n / 36], cubeLevels[n / 6 % 6], cubeLevels[n % 6])
        default:
            let v = UInt8(8 + 10 * (min(i, 255) - 232))
            return RGB(v, v, v)
        }
    }

    /// Nearest of the cube and the grey ramp, as xterm itself resolves 24-bit requests.
    public static func xterm256Index(_ c: RGB) -> Int {
        func level(_ v: UInt8) -> Int { cubeLevels.indices.min { abs(Int(cubeLevels[$0]) - Int(v)) < abs(Int(cubeLevels[$1]) - Int(v)) }! }
        let cube = 16 + 36 * level(c.r) + 6 * level(c.g) + level(c.b)
        let mean = (Int(c.r) + Int(c.g) + Int(c.b)) / 3
        let grey = 232 + min(max((mean - 8 + 5) / 10, 0), 23)
        return c.squaredDistance(to: rgb(ofIndex: grey)) < c.squaredDistance(to: rgb(ofIndex: cube)) ? grey : cube
    }

    static func nearest(_ c: RGB, among indices: Range<Int>) -> Int {
        indices.min { c.squaredDistance(to: system[$0]) < c.squaredDistance(to: system[$1]) }!
    }
}
