/// Composes a whole frame from the state: four framed panes, the key-hint line, and any
/// overlay. Pure: the same state gives the same grid, which is what tests and `Screen` use.
public struct ConsoleView: Sendable {
    public static let minimumWidth = 80, minimumHeight = 24

    public var panes: [any Pane] = [DatasetPane(), TrainingPane(), InspectorPane(), ThresholdPane()]

    public init() {}

    /// Dataset down the left; inspector and threshold side by side top right; training along
    /// the bottom right. Images are about as wide as tall, so the inspector needs little
    /// width, while loss curves over hundreds of steps need all the width there is.
    public static func layout(width: Int, height: Int) -> [PaneID: Rect] {
        let body = Rect(x: 0, y: 0, width: width, height: height - 1)
        let (left, right) = body.splitLeft(max(32, width * 30 / 100))
        let (top, training) = right.splitTop(right.height * 55 / 100)
        let (inspector, threshold) = top.splitLeft(top.width * 55 / 100)
        return [.dataset: left, .inspector: inspector, .training: training, .threshold: threshold]
    }

    public func render(_ state: ConsoleState, _ ctx: RenderContext, width: Int, height: Int) -> CellGrid {
        let t = ctx.theme
        var grid = CellGrid(width: width, height: height, fill: Cell(" ", style: t.style(.mainFg)))
        guard width >= Self.minimumWidth, height >= Self.minimumHeight else {
            drawTooSmall(into: &grid, t)
            return grid
        }
        if let zoom = state.zoom, state.inspected != nil {
            ZoomView.draw(state, zoom, ctx, into: &grid)
            if let overlay = state.overlay { OverlayView.draw(overlay, ctx, into: &grid) }
            return grid
        }
        let rects = Self.layout(width: width, height: height)
        for pane in panes {
            guard let r = rects[pane.id] else { continue }
            let focused = state.focus == pane.id
            grid.box(r, title: pane.id == .training && state.live != nil ? "live" : pane.id.title, paneDigit: pane.id.rawValue,
                     border: t.style(focused ? .focusLine : .divLine),
                     titleStyle: t.style(focused ? .hiFg : .title, focused ? [.bold] : []),
                     digitStyle: t.style(.keyFg, [.bold]))
            pane.draw(state, ctx, into: &grid, content: r.inset(by: 1))
        }
        HintBar.draw(state, ctx, into: &grid, row: height - 1)
        if let overlay = state.overlay { OverlayView.draw(overlay, ctx, into: &grid) }
        return grid
    }

    private func drawTooSmall(into grid: inout CellGrid, _ t: Theme) {
        let lines = ["Terminal is \(grid.width)×\(grid.height).",
                     "stpm needs at least \(Self.minimumWidth)×\(Self.minimumHeight):",
                     "enlarge the terminal (q quits)."]
        for (i, line) in lines.enumerated() {
            let w = TextWidth.columns(of: line)
            grid.put(line, x: max(0, (grid.width - w) / 2), y: grid.height / 2 - 1 + i, style: t.style(i == 0 ? .defect : .mainFg, [.bold]))
        }
    }
}

/// The bottom line: the focused pane's keys, then global ones, then a status note.
enum HintBar {
    static func draw(_ state: ConsoleState, _ ctx: RenderContext, into grid: inout CellGrid, row: Int) {
        let t = ctx.theme
        let line = Rect(x: 0, y: row, width: grid.width, height: 1)
        grid.fill(line, style: t.style(.mainFg))
        typealias Item = (key: String, hint: String, pinned: Bool)
        // Help and quit stay visible however narrow the terminal: other hints drop out first.
        let hints: [Item] = state.isEditingFilter
            ? [("Enter", "keep filter", true), ("Esc", "clear filter", true), ("BS", "delete", true)]
            : ctx.keymap.hints(for: state.focus).map { ($0.keys[0].label, $0.hint!, [.help, .quit].contains($0.action)) }
        let items = hints.filter { !$0.pinned } + hints.filter(\.pinned)
        func width(_ i: Item) -> Int { TextWidth.columns(of: i.key) + TextWidth.columns(of: i.hint) + 3 }
        // A status note is news, so it may take up to half the line from the optional hints.
        let statusRoom = state.status.map { min(TextWidth.columns(of: $0) + 1, grid.width / 2) } ?? 0
        var reserved = items.filter(\.pinned).reduce(0) { $0 + width($1) }
        var x = 1
        for item in items {
            if item.pinned { reserved -= width(item) }
            let reserved = reserved + (item.pinned ? 0 : statusRoom)
            guard x + width(item) + reserved <= grid.width - 1 else { continue }
            x = grid.put(item.key, x: x, y: row, style: t.style(.keyFg, [.bold]), clip: line)
            x = grid.put(" \(item.hint)  ", x: x, y: row, style: t.style(.inactiveFg), clip: line)
        }
        if let status = state.status {
            let s = TextWidth.truncate(status, to: max(0, grid.width - x - 1))
            grid.put(s, x: grid.width - 1 - TextWidth.columns(of: s), y: row, style: t.style(.hiFg), clip: line)
        }
    }
}
