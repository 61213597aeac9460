/// Pane 3: one image as image / heatmap / overlay / predicted mask / ground truth,
/// fitted to the pane with its aspect kept, and a colour legend of the score scale. With two
/// models, A's view and B's side by side on the one colour scale, each at its own threshold.
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
        let score = state.comparison == nil ? row?.score.map { NumberFormat.short($0) }
            : row.map { r in [ModelSlot.a, .b].map { "\($0.rawValue) " + (r[keyPath: $0.score].map { NumberFormat.short($0) } ?? "–") }.joined(separator: " ") }
        var details = [score.map { "score " + $0 }, state.inspectorView.rawValue, state.colorDepth.rawValue].compactMap { $0 }.map { " · " + $0 }.joined()
        if TextWidth.columns(of: details) > content.width - 8 {
            details = " " + [score, state.inspectorView.rawValue, state.colorDepth.rawValue].compactMap { $0 }.joined(separator: " ")
        }
        // The view and depth are what the keys change, so the name gives way first, from its start.
        let name = TextWidth.truncateLeading(row?.name ?? "", to: max(0, content.width - TextWidth.columns(of: details)))
        grid.put(name + details, x: content.x, y: content.y, style: t.style(.title, [.bold]), clip: content)
        let imageArea = Self.imageArea(content: content)
        let legendArea = Rect(x: content.x, y: imageArea.maxY, width: content.width, height: min(1, content.maxY - imageArea.maxY))
        for side in Self.sides(input, state, area: imageArea) {
            if let caption = side.caption {
                grid.put(TextWidth.truncate(caption, to: side.area.width), x: side.area.x, y: side.area.y, style: t.style(.title), clip: side.area)
            }
            Self.drawImage(side.input, Self.renderer(state, ctx, threshold: side.threshold), state, ctx, into: &grid, area: side.imageArea)
        }
        Self.renderer(state, ctx, threshold: state.threshold(of: state.thresholdFocus))
            .drawLegend(into: &grid, rect: legendArea, ascii: state.isASCII, labelStyle: t.style(.mainFg), markerColor: t[.threshold])
    }

    /// One model's view of the inspected image: its anomaly map and threshold, in its part of the image area.
    struct Side {
        var input: InspectorImage
        var threshold: Double
        /// "A model-dir · flagged" above the image, with two models.
        var caption: String?
        var area: Rect
        var imageArea: Rect { caption == nil ? area : area.splitTop(1).1 }
    }

    /// The whole area for one model; with two, A in the left half and B in the right, a column apart.
    static func sides(_ input: InspectorImage, _ state: ConsoleState, area: Rect) -> [Side] {
        guard let comparison = state.comparison else { return [Side(input: input, threshold: state.threshold, caption: nil, area: area)] }
        let left = area.splitLeft((area.width - 1) / 2).0
        let right = Rect(x: left.maxX + 1, y: area.y, width: left.width, height: area.height)
        var inputB = input
        inputB.anomalyMap = state.inspectedID.flatMap { comparison.anomalyMaps[$0] }
        let row = state.rows.first { $0.id == state.inspectedID }
        func caption(_ slot: ModelSlot) -> String {
            let folder = (state.modelPath(of: slot) ?? "").split(separator: "/").last.map(String.init) ?? ""
            let verdict = row.flatMap { r in r[keyPath: slot.score].map { _ in r.isFlaggedByModel(slot.score, at: state.threshold(of: slot)) ? " · flagged" : " · passed" } }
            return "\(slot.rawValue) \(folder)\(verdict ?? "")"
        }
        return [Side(input: input, threshold: state.threshold, caption: caption(.a), area: left),
                Side(input: inputB, threshold: comparison.threshold, caption: caption(.b), area: right)]
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

    static func renderer(_ state: ConsoleState, _ ctx: RenderContext, threshold: Double) -> HeatmapRenderer {
        var renderer = HeatmapRenderer(colormap: ctx.colormap, range: state.mapRange, threshold: Float(threshold))
        renderer.showOutlines = state.showOutlines
        if case .rgb(let c) = ctx.theme[.predMask] { renderer.predictedOutline = c }
        if case .rgb(let c) = ctx.theme[.gtMask] { renderer.groundTruthOutline = c }
        return renderer
    }

    /// `input` in the state's view for a graphics protocol: fitted with its aspect into `area` at `cell`'s
    /// pixel size, on a canvas of whole cells (the view centred, the margin in `background`), and the cells
    /// that canvas covers, centred in `area`. Nil when there is nothing to show.
    public static func placedImage(_ input: InspectorImage, _ state: ConsoleState, _ ctx: RenderContext, area: Rect,
                                   cell: CellPixels, background: RGB, threshold: Double? = nil) -> PlacedImage? {
        guard let source = input.sourceSize, area.width > 0, area.height > 0 else { return nil }
        let scale = min(Double(area.width * cell.width) / Double(source.width), Double(area.height * cell.height) / Double(source.height))
        let width = max(1, Int(Double(source.width) * scale)), height = max(1, Int(Double(source.height) * scale))
        guard let view = renderer(state, ctx, threshold: threshold ?? state.threshold).pixels(state.inspectorView, of: input, width: width, height: height) else { return nil }
        let columns = min(area.width, (width + cell.width - 1) / cell.width), rows = min(area.height, (height + cell.height - 1) / cell.height)
        var canvas = PixelImage(width: columns * cell.width, height: rows * cell.height,
                                pixels: [RGB](repeating: background, count: columns * cell.width * rows * cell.height))
        let (dx, dy) = ((canvas.width - width) / 2, (canvas.height - height) / 2)
        for y in 0..<height {
            for x in 0..<width { canvas.pixels[(y + dy) * canvas.width + x + dx] = view.pixels[y * width + x] }
        }
        return PlacedImage(image: canvas, cells: HeatmapRenderer.centred(columns, rows, in: area))
    }

    /// What the inspector places for a graphics protocol: `placedImage` of the one model, or both models' views
    /// composed into one image over both halves (the placer keeps one image on screen).
    public static func placedImages(_ input: InspectorImage, _ state: ConsoleState, _ ctx: RenderContext, area: Rect,
                                    cell: CellPixels, background: RGB) -> PlacedImage? {
        let placed = sides(input, state, area: area).compactMap {
            placedImage($0.input, state, ctx, area: $0.imageArea, cell: cell, background: background, threshold: $0.threshold)
        }
        guard placed.count > 1 else { return placed.first }
        let x0 = placed.map(\.cells.x).min()!, y0 = placed.map(\.cells.y).min()!
        let cells = Rect(x: x0, y: y0, width: placed.map(\.cells.maxX).max()! - x0, height: placed.map(\.cells.maxY).max()! - y0)
        var canvas = PixelImage(width: cells.width * cell.width, height: cells.height * cell.height,
                                pixels: [RGB](repeating: background, count: cells.width * cell.width * cells.height * cell.height))
        for p in placed {
            let (dx, dy) = ((p.cells.x - x0) * cell.width, (p.cells.y - y0) * cell.height)
            for y in 0..<p.image.height {
                for x in 0..<p.image.width { canvas.pixels[(y + dy) * canvas.width + x + dx] = p.image.pixels[y * p.image.width + x] }
            }
        }
        return PlacedImage(image: canvas, cells: cells)
    }
}
