/// Pane 1: the dataset tree with counts, then the image list (mark, name, score, label).
public struct DatasetPane: Pane {
    public let id = PaneID.dataset
    public init() {}

    /// Rows of the tree: a line per split, then its groups indented.
    func treeLines(_ state: ConsoleState) -> [String] {
        var lines: [String] = [], lastSplit: String?
        for g in state.groups {
            if g.split != lastSplit {
                let total = state.groups.filter { $0.split == g.split }.reduce(0) { $0 + $1.count }
                lines.append("\(g.split)/ \(total)")
                lastSplit = g.split
            }
            lines.append("  \(g.name) \(g.count)")
        }
        return lines
    }

    /// Rows available for the list in a content area; the app uses it for PgUp/PgDn.
    public func listCapacity(_ state: ConsoleState, content: Rect) -> Int {
        max(1, content.height - treeLines(state).count - 2)
    }

    /// The list's rows below the tree and the list header, and the index of the first row shown (the
    /// selection is kept in the middle).
    func listLayout(_ state: ConsoleState, content: Rect) -> (rect: Rect, offset: Int) {
        let top = content.y + treeLines(state).count + 1
        let list = Rect(x: content.x, y: top, width: content.width, height: max(0, content.maxY - top))
        return (list, min(max(state.selected - list.height / 2, 0), max(state.visibleRows.count - list.height, 0)))
    }

    /// Index into `visibleRows` of the row drawn at `y`, if any.
    func rowIndex(atY y: Int, _ state: ConsoleState, content: Rect) -> Int? {
        let (list, offset) = listLayout(state, content: content)
        let index = offset + y - list.y
        return y >= list.y && y < list.maxY && index < state.visibleRows.count ? index : nil
    }

    public func draw(_ state: ConsoleState, _ ctx: RenderContext, into grid: inout CellGrid, content: Rect) {
        let t = ctx.theme
        guard !state.groups.isEmpty else {
            grid.put("no dataset: stpm console DATA", x: content.x, y: content.y, style: t.style(.inactiveFg), clip: content)
            return
        }
        var y = content.y
        let scopes = state.treeScopes
        for (i, line) in treeLines(state).enumerated() where y < content.maxY {
            let isGroup = line.hasPrefix(" ")
            let current = scopes.indices.contains(i) && scopes[i] == state.scope
            let style = current ? t.style(.hiFg, [.bold]) : t.style(isGroup ? .mainFg : .title, isGroup ? [] : [.bold])
            grid.put(current ? "▸" + (isGroup ? line.dropFirst() : Substring(line)) : line, x: content.x, y: y, style: style, clip: content)
            y += 1
        }
        guard y + 1 < content.maxY else { return }
        let rows = state.visibleRows
        let header = state.isEditingFilter || !state.filter.isEmpty
            ? "/\(state.filter)\(state.isEditingFilter ? "▏" : "")  \(rows.count) of \(state.rows.filter { $0.name.hasPrefix(state.scope) }.count)"
            // With two models the A and B over the score columns need the room "images" would take.
            : "\(rows.count)\(state.comparison == nil ? " images" : "") · \(state.sort.title)" + (state.disagreementsOnly ? " · A≠B" : "")
        grid.horizontalLine(x: content.x, y: y, length: content.width, style: t.style(.divLine))
        let headerEnd = grid.put(" \(header) ", x: content.x + 1, y: y, style: t.style(state.isEditingFilter ? .hiFg : .inactiveFg), clip: content)
        if state.comparison != nil, headerEnd <= content.maxX - 13 {
            // Over the two score columns, so that which score is whose needs no legend.
            grid.put(" A ", x: content.maxX - 13, y: y, style: t.style(.title, [.bold]), clip: content)
            grid.put(" B ", x: content.maxX - 5, y: y, style: t.style(.title, [.bold]), clip: content)
        }
        y += 1
        let (list, offset) = listLayout(state, content: content)
        for (i, row) in rows.enumerated().dropFirst(offset).prefix(list.height) {
            drawRow(row, selected: i == state.selected, focused: state.focus == id, state, t, into: &grid, x: list.x, y: list.y + i - offset, width: list.width)
        }
    }

    /// "!" flagged by score, "*" flagged by hand; label "ok"/"NG" as in inspection reports. With two
    /// models: A's mark and B's ("!" or "·" for passed), then the name, A's score and B's score.
    private func drawRow(_ row: ImageRow, selected: Bool, focused: Bool, _ state: ConsoleState, _ t: Theme,
                         into grid: inout CellGrid, x: Int, y: Int, width: Int) {
        let base = selected ? (focused ? t.selectedStyle : t.style(.mainFg, [.reverse])) : t.style(.mainFg)
        let area = Rect(x: x, y: y, width: width, height: 1)
        grid.fill(area, style: base)
        let markStyle = selected ? base : base.with(fg: t[.flagged], attributes: [.bold])
        let slots: [ModelSlot] = state.comparison == nil ? [.a] : [.a, .b]
        func verdict(_ slot: ModelSlot) -> String {
            guard row[keyPath: slot.score] != nil else { return " " }
            return row.isFlaggedByModel(slot.score, at: state.threshold(of: slot)) ? "!" : (slots.count > 1 ? "·" : " ")
        }
        let marks = row.manuallyFlagged ? "*" + (slots.count > 1 ? verdict(.b) : "") : slots.map(verdict).joined()
        grid.put(marks, x: x, y: y, style: markStyle, clip: area)
        let label: (String, ThemeKey) = row.label == .defective ? ("NG", .defect) : row.label == .normal ? ("ok", .good) : ("", .inactiveFg)
        // Scores are up to 7 columns ("0.00336"); two of them stand a column apart.
        let right = 8 * slots.count - 1 + 3, left = slots.count + 1
        // The tree already says which folder is listed; repeating it would only crowd names out.
        let name = row.name.hasPrefix(state.scope) ? String(row.name.dropFirst(state.scope.count)) : row.name
        grid.put(TextWidth.truncate(name, to: width - left - right), x: x + left, y: y, style: base, clip: area)
        for (i, slot) in slots.enumerated() {
            let score = row[keyPath: slot.score].map { NumberFormat.short($0) } ?? "–"
            grid.put(String(repeating: " ", count: max(0, 7 - score.count)) + score, x: x + width - right + 8 * i, y: y, style: base, clip: area)
        }
        grid.put(label.0, x: x + width - 2, y: y, style: selected ? base : base.with(fg: t[label.1]), clip: area)
    }
}
