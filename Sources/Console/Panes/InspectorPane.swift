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
        let imageArea = Self.imageArea(content: content)
        let legendArea = Rect(x: content.x, y: imageArea.maxY, width: content.width, height: min(1, content.maxY - imageArea.maxY))
        let renderer = Self.renderer(state, ctx)
        Self.drawImage(input, renderer, state, ctx, into: &grid, area: imageArea)
        renderer.drawLegend(into: &grid, rect: legendArea, ascii: state.isASCII, labelStyle: t.style(.mainFg), markerColor: t[.threshold])
    }

    /// The view in cells, or with a graphics protocol nothing (the area stays blank: the image is placed
    /// over it after the grid is flushed); words when the view has no data.
    static func drawImage(_ input: InspectorImage, _ renderer: HeatmapRenderer, _ state: ConsoleState, _ ctx: RenderContext,
                          into grid: inout CellGrid, area: Rect) {
        let drawn = ctx.pixelGraphics && !state.isASCII ? input.has(state.inspectorView)
            : renderer.draw(state.inspectorView, of: input, into: &grid, rect: area, ascii: state.isASCII, background: ctx.theme[.mainBg]) != nil
        if !drawn {
            grid.put("no \(state.inspectorView.rawValue) for this image", x: area.x, y: area.y, style: ctx.theme.style(.inactiveFg), clip: area)
        }
    }

    /// The rows between the header line and the legend line.
    public static func imageArea(content: Rect) -> Rect {
        let (_, rest) = content.splitTop(1)
        return rest.splitTop(rest.height - 1).0
    }

    static func renderer(_ state: ConsoleState, _ ctx: RenderContext) -> HeatmapRenderer {
        var renderer = HeatmapRenderer(colormap: ctx.colormap, range: state.mapRange, threshold: Float(state.threshold))
        renderer.showOutlines = state.showOutlines
        if case .rgb(let c) = ctx.theme[.predMask] { renderer.predictedOutline = c }
        if case .rgb(let c) = ctx.theme[.gtMask] { renderer.groundTruthOutline = c }
        return renderer
    }

    /// `input` in the state's view for a graphics protocol: fitted with its aspect into `area` at `cell`'s
    /// pixel size, on a canvas of whole cells (the view centred, the margin in `background`), and the cells
    /// that canvas covers, centred in `area`. Nil when there is nothing to show.
    public static func placedImage(_ input: InspectorImage, _ state: ConsoleState, _ ctx: RenderContext, area: Rect,
                                   cell: CellPixels, background: RGB) -> PlacedImage? {
        guard let source = input.sourceSize, area.width > 0, area.height > 0 else { return nil }
        let scale = min(Double(area.width * cell.width) / Double(source.width), Double(area.height * cell.height) / Double(source.height))
        let width = max(1, Int(Double(source.width) * scale)), height = max(1, Int(Double(source.height) * scale))
        guard let view = renderer(state, ctx).pixels(state.inspectorView, of: input, width: width, height: height) else { return nil }
        let columns = min(area.width, (width + cell.width - 1) / cell.width), rows = min(area.height, (height + cell.height - 1) / cell.height)
        var canvas = PixelImage(width: columns * cell.width, height: rows * cell.height,
                                pixels: [RGB](repeating: background, count: columns * cell.width * rows * cell.height))
        let (dx, dy) = ((canvas.width - width) / 2, (canvas.height - height) / 2)
        for y in 0..<height {
            for x in 0..<width { canvas.pixels[(y + dy) * canvas.width + x + dx] = view.pixels[y * width + x] }
        }
        return PlacedImage(image: canvas, cells: HeatmapRenderer.centred(columns, rows, in: area))
    }
}
