public enum CellColor: Hashable, Sendable {
    /// The terminal's own colour, which keeps transparent and themed terminals looking native.
    case terminalDefault
    case rgb(RGB)
}

public struct CellAttributes: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let bold = CellAttributes(rawValue: 1)
    public static let underline = CellAttributes(rawValue: 2)
    public static let reverse = CellAttributes(rawValue: 4)
    public static let dim = CellAttributes(rawValue: 8)
}

public struct CellStyle: Hashable, Sendable {
    public var fg: CellColor
    public var bg: CellColor
    public var attributes: CellAttributes

    public init(fg: CellColor = .terminalDefault, bg: CellColor = .terminalDefault, attributes: CellAttributes = []) {
        self.fg = fg; self.bg = bg; self.attributes = attributes
    }

    public static let plain = CellStyle()

    public func with(fg: CellColor? = nil, bg: CellColor? = nil, attributes: CellAttributes? = nil) -> CellStyle {
        CellStyle(fg: fg ?? self.fg, bg: bg ?? self.bg, attributes: attributes ?? self.attributes)
    }
}

public struct Cell: Hashable, Sendable {
    public var character: Character
    public var style: CellStyle
    /// The right half of a double-width character; the screen skips it because the
    /// terminal already advanced over it.
    public var isWideTail: Bool

    public init(_ character: Character = " ", style: CellStyle = .plain, isWideTail: Bool = false) {
        self.character = character; self.style = style; self.isWideTail = isWideTail
    }
}

public struct Rect: Hashable, Sendable {
    public var x: Int, y: Int, width: Int, height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x; self.y = y; self.width = max(0, width); self.height = max(0, height)
    }

    public var maxX: Int { x + width }
    public var maxY: Int { y + height }

    public func inset(by n: Int) -> Rect {
        Rect(x: x + n, y: y + n, width: width - 2 * n, height: height - 2 * n)
    }

    public func contains(x px: Int, y py: Int) -> Bool {
        px >= x && px < maxX && py >= y && py < maxY
    }

    /// Splits off the top `rows` rows (clamped), returning (top, rest).
    public func splitTop(_ rows: Int) -> (Rect, Rect) {
        let r = min(max(rows, 0), height)
        return (Rect(x: x, y: y, width: width, height: r), Rect(x: x, y: y + r, width: width, height: height - r))
    }

    /// Splits off the left `columns` columns (clamped), returning (left, rest).
    public func splitLeft(_ columns: Int) -> (Rect, Rect) {
        let c = min(max(columns, 0), width)
        return (Rect(x: x, y: y, width: c, height: height), Rect(x: x + c, y: y, width: width - c, height: height))
    }
}

/// An off-screen frame. Panes draw here; `Screen` copies it to the terminal, and tests read it back.
public struct CellGrid: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public private(set) var cells: [Cell]

    public init(width: Int, height: Int, fill: Cell = Cell()) {
        self.width = max(0, width); self.height = max(0, height)
        cells = Array(repeating: fill, count: self.width * self.height)
    }

    public var bounds: Rect { Rect(x: 0, y: 0, width: width, height: height) }

    public subscript(x: Int, y: Int) -> Cell {
        get { cells[y * width + x] }
        set { cells[y * width + x] = newValue }
    }

    /// Writes one cell if it is inside both the grid and `clip`; out-of-range writes are
    /// ignored so callers can draw partially visible shapes without bounds arithmetic.
    public mutating func set(_ x: Int, _ y: Int, _ character: Character, _ style: CellStyle, clip: Rect? = nil) {
        guard bounds.contains(x: x, y: y), clip?.contains(x: x, y: y) ?? true else { return }
        self[x, y] = Cell(character, style: style)
    }

    /// Draws `text` starting at (x, y), clipped to `clip` (default: the whole grid).
    /// Returns the column after the last character written.
    @discardableResult
    public mutating func put(_ text: String, x: Int, y: Int, style: CellStyle, clip: Rect? = nil) -> Int {
        let area = clip ?? bounds
        var col = x
        for c in text {
            let w = TextWidth.columns(of: c)
            if w == 0 { continue }
            let visible = c.isASCII && c.asciiValue! < 0x20 ? " " : c
            guard col + w <= area.maxX else { break }
            if col >= area.x && bounds.contains(x: col + w - 1, y: y) {
                set(col, y, visible, style, clip: area)
                if w == 2 { self[col + 1, y] = Cell(" ", style: style, isWideTail: true) }
            }
            col += w
        }
        return col
    }

    public mutating func fill(_ rect: Rect, _ character: Character = " ", style: CellStyle) {
        for y in rect.y..<rect.maxY { for x in rect.x..<rect.maxX { set(x, y, character, style) } }
    }

    public mutating func horizontalLine(x: Int, y: Int, length: Int, style: CellStyle, character: Character = "─") {
        for i in 0..<max(0, length) { set(x + i, y, character, style) }
    }

    public mutating func verticalLine(x: Int, y: Int, length: Int, style: CellStyle, character: Character = "│") {
        for i in 0..<max(0, length) { set(x, y + i, character, style) }
    }

    /// A single-line frame. The title is written into the top edge after a superscript pane
    /// digit (btop's convention), so the digit that jumps to a pane is visible on it.
    public mutating func box(_ rect: Rect, title: String = "", paneDigit: Int? = nil,
                             border: CellStyle, titleStyle: CellStyle, digitStyle: CellStyle? = nil) {
        guard rect.width >= 2, rect.height >= 2 else { return }
        horizontalLine(x: rect.x + 1, y: rect.y, length: rect.width - 2, style: border)
        horizontalLine(x: rect.x + 1, y: rect.maxY - 1, length: rect.width - 2, style: border)
        verticalLine(x: rect.x, y: rect.y + 1, length: rect.height - 2, style: border)
        verticalLine(x: rect.maxX - 1, y: rect.y + 1, length: rect.height - 2, style: border)
        set(rect.x, rect.y, "┌", border); set(rect.maxX - 1, rect.y, "┐", border)
        set(rect.x, rect.maxY - 1, "└", border); set(rect.maxX - 1, rect.maxY - 1, "┘", border)
        let titleArea = Rect(x: rect.x + 2, y: rect.y, width: rect.width - 4, height: 1)
        var col = titleArea.x
        if let d = paneDigit {
            col = put(String(Self.superscript(d)), x: col, y: rect.y, style: digitStyle ?? titleStyle, clip: titleArea)
        }
        put(TextWidth.truncate(title, to: titleArea.maxX - col), x: col, y: rect.y, style: titleStyle, clip: titleArea)
    }

    /// Rows as strings, without styles: for tests and for plain-text captures of a frame.
    public func plainText() -> [String] {
        (0..<height).map { y in
            var row = ""
            for x in 0..<width where !self[x, y].isWideTail { row.append(self[x, y].character) }
            return row
        }
    }

    static func superscript(_ digit: Int) -> Character {
        let table: [Character] = ["⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"]
        return table[min(max(digit, 0), 9)]
    }
}
