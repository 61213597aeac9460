/// Pane 3: one image as image / heatmap / overlay / predicted mask / ground truth,
/// fitted to the pane with its aspect kept, and a colour legend of the score scale.
public struct InspectorPane: Pane {
    public let id = PaneID.inspector
    public init() {}

    public func draw(_ state: ConsoleState, _ ctx: RenderContext, into grid: inout CellGrid, content: Rect) {
        let t = ctx.theme
        guard let input = state.inspected else {
            grid.put("Enter on an image in the list opens it here", x: content.x, y: content.y, style: t.style(.inactiveFg), clip: content)
            return
        }
        let row = state.rows.first { $0.id == state.inspectedID }
        let score = row?.score.map { NumberFormat.short($0) }
        var details = [score.map { "score " + $0 }, state.inspectorView.rawValue, state.colorDepth.rawValue].compactMap { $0 }.map { " · " + $0 }.joined()
        if TextWidth.columns(of: details) > content.width - 8 {
            details = " " + [score, state.inspectorView.rawValue, state.colorDepth.rawValue].compactMap { $0 }.joined(separator: " ")
        }
        // The view and depth are what the keys change, so the name gives way first, from its start.
        let name = TextWidth.truncateLeading(row?.name ?? "", to: max(0, content.width - TextWidth.columns(of: details)))
        grid.put(name + details, x: content.x, y: content.y, style: t.style(.title, [.bold]), clip: content)
        let (_, rest) = content.splitTop(1)
        let (imageArea, legendArea) = rest.splitTop(rest.height - 1)
        var renderer = HeatmapRenderer(colormap: ctx.colormap, range: state.mapRange, threshold: Float(state.threshold))
        renderer.showOutlines = state.showOutlines
        if case .rgb(let c) = t[.predMask] { renderer.predictedOutline = c }
        if case .rgb(let c) = t[.gtMask] { renderer.groundTruthOutline = c }
        if renderer.draw(state.inspectorView, of: input, into: &grid, rect: imageArea, ascii: state.isASCII, background: t[.mainBg]) == nil {
            grid.put("no \(state.inspectorView.rawValue) for this image", x: imageArea.x, y: imageArea.y, style: t.style(.inactiveFg), clip: imageArea)
        }
        renderer.drawLegend(into: &grid, rect: legendArea, ascii: state.isASCII, labelStyle: t.style(.mainFg), markerColor: t[.threshold])
    }
}
