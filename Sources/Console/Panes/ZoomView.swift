/// `z`: the inspected image over the whole terminal, a title line with the zoom keys above it and the
/// colour legend below.
public enum ZoomView {
    public static func imageArea(width: Int, height: Int) -> Rect {
        Rect(x: 0, y: 1, width: width, height: max(0, height - 2))
    }

    static func draw(_ state: ConsoleState, _ zoom: Zoom, _ ctx: RenderContext, into grid: inout CellGrid) {
        guard let input = state.inspected else { return }
        let t = ctx.theme
        let name = state.rows.first { $0.id == state.inspectedID }?.name ?? ""
        let keys = "  ←↑↓→ pan  +/- scale  a peak  v view  z back"
        let head = " · \(state.inspectorView.rawValue) · ×\(NumberFormat.short(zoom.scale))"
        let room = max(0, grid.width - TextWidth.columns(of: head + keys))
        grid.put(TextWidth.truncateLeading(name, to: room) + head, x: 0, y: 0, style: t.style(.title, [.bold]))
        grid.put(keys, x: grid.width - TextWidth.columns(of: keys), y: 0, style: t.style(.inactiveFg))
        let area = imageArea(width: grid.width, height: grid.height)
        let renderer = InspectorPane.renderer(state, ctx, threshold: state.threshold)
        InspectorPane.drawImage(input.cropped(to: zoom.window), renderer, state, ctx, into: &grid, area: area)
        renderer.drawLegend(into: &grid, rect: Rect(x: 0, y: area.maxY, width: grid.width, height: 1), ascii: state.isASCII,
                            labelStyle: t.style(.mainFg), markerColor: t[.threshold])
    }
}
