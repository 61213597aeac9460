extension CellGrid {
    /// The frame as a terminal of `depth` would show it, for the `d` key on a richer
    /// terminal: each colour becomes its palette entry (or the terminal default when none).
    func reduced(to depth: ColorDepth) -> CellGrid {
        var out = self
        func reduce(_ c: CellColor) -> CellColor {
            switch depth.quantize(c) {
            case .terminalDefault: return .terminalDefault
            case .index(let i): return .rgb(Palette.rgb(ofIndex: i))
            case .rgb(let v): return .rgb(v)
            }
        }
        for y in 0..<height {
            for x in 0..<width {
                var cell = self[x, y]
                cell.style.fg = reduce(cell.style.fg)
                cell.style.bg = reduce(cell.style.bg)
                out[x, y] = cell
            }
        }
        return out
    }
}
