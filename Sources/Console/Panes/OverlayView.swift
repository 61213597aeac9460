/// Help, confirmation and message boxes, centred over the panes.
enum OverlayView {
    static func draw(_ overlay: Overlay, _ ctx: RenderContext, into grid: inout CellGrid) {
        switch overlay {
        case .help: drawHelp(ctx, into: &grid)
        case .confirm(let c):
            drawDialog(title: "confirm", lines: c.lines + ["", "y yes    N/Enter/Esc no"], ctx, into: &grid)
        case .message(let m):
            drawDialog(title: "note", lines: [m, "", "any key closes"], ctx, into: &grid)
        case .trainingForm(let form):
            TrainingFormView.draw(form, ctx, into: &grid)
        }
    }

    static func centredBox(width: Int, height: Int, in grid: CellGrid) -> Rect {
        let w = min(width, grid.width), h = min(height, grid.height)
        return Rect(x: (grid.width - w) / 2, y: (grid.height - h) / 2, width: w, height: h)
    }

    private static func frame(_ r: Rect, title: String, _ t: Theme, into grid: inout CellGrid) {
        grid.fill(r, style: t.style(.mainFg))
        grid.box(r, title: title, border: t.style(.focusLine), titleStyle: t.style(.hiFg, [.bold]))
    }

    static func drawDialog(title: String, lines: [String], _ ctx: RenderContext, into grid: inout CellGrid) {
        let width = (lines.map { TextWidth.columns(of: $0) }.max() ?? 0) + 6
        let r = centredBox(width: max(width, 30), height: lines.count + 4, in: grid)
        frame(r, title: title, ctx.theme, into: &grid)
        for (i, line) in lines.enumerated() {
            grid.put(line, x: r.x + 3, y: r.y + 2 + i, style: ctx.theme.style(.title, i == 0 ? [.bold] : []), clip: r.inset(by: 1))
        }
    }

    /// Every binding of the live key table, global keys first, in two columns when it fits.
    static func drawHelp(_ ctx: RenderContext, into grid: inout CellGrid) {
        let t = ctx.theme
        let ordered = ctx.keymap.bindings.filter { $0.scope == .global } + ctx.keymap.bindings.filter { $0.scope != .global }
        let keyWidth = min(12, ordered.map { TextWidth.columns(of: $0.keyLabel) }.max() ?? 0)
        let box = centredBox(width: grid.width - 4, height: grid.height - 2, in: grid)
        frame(box, title: "help · q/Esc closes", t, into: &grid)
        let inner = box.inset(by: 1)
        let columns = (ordered.count + inner.height - 1) / max(inner.height, 1) >= 2 && inner.width >= 60 ? 2 : 1
        let perColumn = (ordered.count + columns - 1) / columns
        let columnWidth = inner.width / columns
        for (i, b) in ordered.enumerated() {
            let col = i / perColumn, row = i % perColumn
            guard row < inner.height else { continue }
            let cell = Rect(x: inner.x + 1 + col * columnWidth, y: inner.y + row, width: columnWidth - 2, height: 1)
            grid.put(b.keyLabel, x: cell.x, y: cell.y, style: t.style(.keyFg, [.bold]), clip: cell)
            let scope: String
            if case .panes(let ps) = b.scope { scope = "[" + ps.map { String($0.rawValue) }.joined() + "] " } else { scope = "" }
            grid.put(TextWidth.truncate(scope + b.description, to: cell.width - keyWidth - 1), x: cell.x + keyWidth + 1, y: cell.y, style: t.style(.mainFg), clip: cell)
        }
    }
}
