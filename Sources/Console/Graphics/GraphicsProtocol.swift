/// How the inspector draws images: real pixels through a terminal graphics protocol, or cells.
public enum GraphicsProtocol: String, CaseIterable, Sendable {
    case kitty, sixel, iterm, blocks, ascii

    /// Pixels through an escape-sequence protocol, placed after the cell grid is flushed.
    public var drawsPixels: Bool { self == .kitty || self == .sixel || self == .iterm }
}

/// Picks the graphics protocol: an explicit choice first (option, then STPM_GRAPHICS), then the
/// terminal's own name (TERM, TERM_PROGRAM), then what the terminal answers to XTVERSION and DA1,
/// else half blocks. Inside tmux only an explicit choice gets pixels: sixel through tmux is fragile
/// and kitty's protocol needs passthrough, which tmux drops unless allow-passthrough is on.
public enum GraphicsDetection {
    public static let environmentVariable = "STPM_GRAPHICS"

    /// XTVERSION, the cell size in pixels, DA1, then a status report whose answer ("CSI 0 n") every
    /// terminal gives, so the reader knows all answers are in without waiting out its time budget.
    public static let query = Array("\u{1B}[>0q\u{1B}[16t\u{1B}[c\u{1B}[5n".utf8)

    public enum Outcome: Equatable, Sendable {
        case decided(GraphicsProtocol, reason: String)
        /// The environment does not tell: ask the terminal with `query`.
        case ask
    }

    /// `choice` is the command-line option. An unknown STPM_GRAPHICS value is an error naming it.
    public static func fromEnvironment(choice: GraphicsProtocol?, environment: [String: String]) throws -> Outcome {
        if let choice { return .decided(choice, reason: "--graphics \(choice.rawValue)") }
        if let value = environment[environmentVariable], !value.isEmpty {
            guard let chosen = GraphicsProtocol(rawValue: value.lowercased()) else {
                throw GraphicsDetectionError.unknownProtocol(variable: environmentVariable, value: value)
            }
            return .decided(chosen, reason: "\(environmentVariable)=\(value)")
        }
        if environment["TMUX"].map({ !$0.isEmpty }) ?? false {
            return .decided(.blocks, reason: "inside tmux (--graphics or \(environmentVariable) opts in)")
        }
        let term = environment["TERM"] ?? "", program = environment["TERM_PROGRAM"] ?? ""
        // kitty sets KITTY_WINDOW_ID in its windows, also where TERM was changed for lack of its terminfo entry.
        if term == "xterm-kitty" || program == "kitty" || environment["KITTY_WINDOW_ID"] != nil { return .decided(.kitty, reason: "kitty") }
        if term == "xterm-ghostty" || program.lowercased() == "ghostty" { return .decided(.kitty, reason: "Ghostty") }
        // WezTerm's own documentation recommends iTerm2's protocol; its kitty support is partial.
        if program == "WezTerm" || program == "iTerm.app" || program == "vscode" {
            return .decided(.iterm, reason: "TERM_PROGRAM=\(program)")
        }
        if term.isEmpty || term == "dumb" || term == "linux" { return .decided(.blocks, reason: "TERM=\(term)") }
        return .ask
    }

    /// Decides from the terminal's answers to `query` (all of them, in any order, possibly none).
    public static func fromReplies(_ reply: [UInt8]) -> (GraphicsProtocol, reason: String) {
        if let name = terminalName(reply) {
            let lower = name.lowercased()
            if lower.hasPrefix("kitty") || lower.hasPrefix("ghostty") { return (.kitty, "XTVERSION \(name)") }
            if lower.hasPrefix("wezterm") || lower.hasPrefix("iterm2") { return (.iterm, "XTVERSION \(name)") }
        }
        if deviceAttributes(reply).contains(4) { return (.sixel, "DA1 reports sixel") }
        return (.blocks, "no graphics protocol in the terminal's answers")
    }

    /// True once the status report's answer (the last one asked for) has arrived.
    public static func isComplete(_ reply: [UInt8]) -> Bool {
        find(Array("\u{1B}[0n".utf8), in: reply) != nil || find(Array("\u{1B}[3n".utf8), in: reply) != nil
    }

    /// XTVERSION's answer: DCS > | name ST.
    static func terminalName(_ reply: [UInt8]) -> String? {
        guard let start = find(Array("\u{1B}P>|".utf8), in: reply) else { return nil }
        let body = reply[(start + 4)...]
        let end = body.firstIndex(of: 0x1B) ?? body.firstIndex(of: 0x07) ?? body.endIndex
        return String(decoding: body[..<end], as: UTF8.self)
    }

    /// DA1's answer: CSI ? Ps ; Ps ... c.
    static func deviceAttributes(_ reply: [UInt8]) -> [Int] {
        guard let start = find(Array("\u{1B}[?".utf8), in: reply) else { return [] }
        let body = reply[(start + 3)...]
        guard let end = body.firstIndex(of: UInt8(ascii: "c")) else { return [] }
        return String(decoding: body[..<end], as: UTF8.self).split(separator: ";").compactMap { Int($0) }
    }

    /// The answer to CSI 16 t: CSI 6 ; height ; width t.
    public static func cellSize(inReply reply: [UInt8]) -> CellPixels? {
        guard let start = find(Array("\u{1B}[6;".utf8), in: reply) else { return nil }
        let body = reply[(start + 4)...]
        guard let end = body.firstIndex(of: UInt8(ascii: "t")) else { return nil }
        let parts = String(decoding: body[..<end], as: UTF8.self).split(separator: ";").compactMap { Int($0) }
        guard parts.count == 2 else { return nil }
        return CellPixels(width: parts[1], height: parts[0])
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard needle.count <= haystack.count else { return nil }
        return (0...(haystack.count - needle.count)).first { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}

public enum GraphicsDetectionError: Error, CustomStringConvertible {
    case unknownProtocol(variable: String, value: String)

    public var description: String {
        switch self {
        case let .unknownProtocol(variable, value):
            "\(variable)=\(value) is not a graphics mode; use one of " + GraphicsProtocol.allCases.map(\.rawValue).joined(separator: ", ")
        }
    }
}

/// The size of one terminal cell in pixels.
public struct CellPixels: Equatable, Sendable {
    public var width: Int, height: Int

    /// Bounded so that a wrong answer cannot ask for a gigapixel image.
    public init?(width: Int, height: Int) {
        guard (2...256).contains(width), (2...512).contains(height) else { return nil }
        self.width = width; self.height = height
    }

    /// A VGA-like cell, when the terminal reports no pixel size; kitty and iTerm2 then scale the image into the cells.
    public static let fallback = CellPixels(width: 8, height: 16)!

    /// From TIOCGWINSZ: the text area's pixel size over its cell count (zero when the terminal does not fill it in).
    public static func fromWindowSize(columns: Int, rows: Int, pixelWidth: Int, pixelHeight: Int) -> CellPixels? {
        guard columns > 0, rows > 0, pixelWidth > 0, pixelHeight > 0 else { return nil }
        return CellPixels(width: pixelWidth / columns, height: pixelHeight / rows)
    }
}
