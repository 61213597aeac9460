import Detection

/// What the inspector shows of one image.
public enum InspectorView: String, CaseIterable, Sendable {
    case image, heatmap, overlay
    case predictedMask = "predicted mask", groundTruth = "ground truth"
}

/// The data behind one inspected image. Any part may be missing (no GT for good images,
/// no map before training); the renderer shows what there is.
public struct InspectorImage: Equatable, Sendable {
    public var image: PixelImage?
    public var anomalyMap: ScalarMap?
    public var groundTruth: ScalarMap?

    public init(image: PixelImage? = nil, anomalyMap: ScalarMap? = nil, groundTruth: ScalarMap? = nil) {
        self.image = image; self.anomalyMap = anomalyMap; self.groundTruth = groundTruth
    }

    /// Whether `view` has its data (the renderer shows nothing for it otherwise).
    public func has(_ view: InspectorView) -> Bool {
        switch view {
        case .image: image != nil
        case .heatmap, .predictedMask: anomalyMap != nil
        case .overlay: image != nil && anomalyMap != nil
        case .groundTruth: groundTruth != nil
        }
    }

    /// The source size everything is fitted from: the photograph's, else the map's.
    var sourceSize: (width: Int, height: Int)? {
        if let i = image { return (i.width, i.height) }
        if let m = anomalyMap ?? groundTruth { return (m.width, m.height) }
        return nil
    }
}

/// Turns images and anomaly maps into cells. Colour output uses half blocks: "▀" with
/// fg = upper pixel and bg = lower pixel, so a cell holds two square pixels. ASCII output
/// (monochrome terminals, --ascii) uses one ramp character per cell.
public struct HeatmapRenderer: Sendable {
    public static let asciiRamp: [Character] = Array(" .:-=+*#%@")

    public var colormap: Colormap
    /// Map values at or below `range.lowerBound` take the colormap's first stop, at or
    /// above `upperBound` its last.
    public var range: ClosedRange<Float>
    public var threshold: Float
    /// Heatmap weight in the overlay; 0.5 as anomalib's `overlay_image`.
    public var alpha: Double = 0.5
    public var predictedOutline: RGB = RGB(255, 0, 0)
    public var groundTruthOutline: RGB = RGB(255, 255, 255)
    public var showOutlines = true

    public init(colormap: Colormap, range: ClosedRange<Float>, threshold: Float) {
        self.colormap = colormap; self.range = range; self.threshold = threshold
    }

    func normalized(_ v: Float) -> Double {
        let span = range.upperBound - range.lowerBound
        return span > 0 ? Double((v - range.lowerBound) / span) : (v >= range.upperBound ? 1 : 0)
    }

    // MARK: layout

    /// Largest size with the source's aspect that fits `cellsWide` × `cellsHigh` cells, in
    /// square pixels (a cell is about twice as tall as wide, i.e. two square pixels high).
    public static func fittedPixels(sourceWidth: Int, sourceHeight: Int, cellsWide: Int, cellsHigh: Int) -> (width: Int, height: Int) {
        guard sourceWidth > 0, sourceHeight > 0, cellsWide > 0, cellsHigh > 0 else { return (0, 0) }
        let scale = min(Double(cellsWide) / Double(sourceWidth), Double(2 * cellsHigh) / Double(sourceHeight))
        return (max(1, Int(Double(sourceWidth) * scale)), max(1, Int(Double(sourceHeight) * scale)))
    }

    // MARK: composition at display resolution

    /// The chosen view as RGB pixels at `width` × `height`, or nil if its data is missing.
    public func pixels(_ view: InspectorView, of input: InspectorImage, width: Int, height: Int) -> PixelImage? {
        let photo = input.image.map { AreaResampler.resample($0, toWidth: width, toHeight: height) }
        let map = input.anomalyMap.map { AreaResampler.resample($0, toWidth: width, toHeight: height) }
        let gt = input.groundTruth.map { AreaResampler.resample($0, toWidth: width, toHeight: height) }
        let predMask = map.map { m in m.values.map { $0 >= threshold } }
        let gtMask = gt.map { g in g.values.map { $0 >= 0.5 } }
        let heat = map.map { m in m.values.map { colormap.color(at: normalized($0)) } }

        let base: [RGB]
        switch view {
        case .image: guard let p = photo else { return nil }; base = p.pixels
        case .heatmap: guard let h = heat else { return nil }; base = h
        case .overlay:
            guard let p = photo, let h = heat else { return nil }
            base = zip(p.pixels, h).map { $0.mixed(with: $1, alpha) }
        case .predictedMask: guard let m = predMask else { return nil }; return Self.binary(m, width, height)
        case .groundTruth: guard let g = gtMask else { return nil }; return Self.binary(g, width, height)
        }
        var out = PixelImage(width: width, height: height, pixels: base)
        if showOutlines {
            for (mask, color) in [(gtMask, groundTruthOutline), (predMask, predictedOutline)] {
                guard let mask else { continue }
                for i in OverlayPanels.outline(mask, width: width, height: height) { out.pixels[i] = color }
            }
        }
        return out
    }

    /// Per-pixel brightness 0...1 for ASCII output. Heat views use the map value itself
    /// (jet's luminance is not monotonic in the score).
    public func intensities(_ view: InspectorView, of input: InspectorImage, width: Int, height: Int) -> [Double]? {
        let map = input.anomalyMap.map { AreaResampler.resample($0, toWidth: width, toHeight: height) }
        switch view {
        case .image:
            return input.image.map { AreaResampler.resample($0, toWidth: width, toHeight: height).pixels.map(\.luminance) }
        case .heatmap, .overlay: return map?.values.map { normalized($0) }
        case .predictedMask: return map?.values.map { $0 >= threshold ? 1 : 0 }
        case .groundTruth:
            return input.groundTruth.map { AreaResampler.resample($0, toWidth: width, toHeight: height).values.map { $0 >= 0.5 ? 1 : 0 } }
        }
    }

    static func binary(_ mask: [Bool], _ w: Int, _ h: Int) -> PixelImage {
        PixelImage(width: w, height: h, pixels: mask.map { $0 ? RGB(255, 255, 255) : RGB(0, 0, 0) })
    }

    // MARK: drawing into cells

    /// Draws `view` centred in `rect`. Returns the rectangle actually covered, or nil when the
    /// view has no data (the caller says so in words).
    @discardableResult
    public func draw(_ view: InspectorView, of input: InspectorImage, into grid: inout CellGrid, rect: Rect,
                     ascii: Bool, background: CellColor) -> Rect? {
        guard let src = input.sourceSize else { return nil }
        let fit = Self.fittedPixels(sourceWidth: src.width, sourceHeight: src.height, cellsWide: rect.width, cellsHigh: rect.height)
        guard fit.width > 0 else { return nil }
        if ascii {
            let rows = max(1, fit.height / 2)
            guard let v = intensities(view, of: input, width: fit.width, height: rows) else { return nil }
            let area = Self.centred(fit.width, rows, in: rect)
            Self.drawRamp(v, width: fit.width, into: &grid, at: area)
            return area
        }
        guard let p = pixels(view, of: input, width: fit.width, height: fit.height) else { return nil }
        let area = Self.centred(fit.width, (fit.height + 1) / 2, in: rect)
        Self.drawHalfBlocks(p, into: &grid, at: area, background: background)
        return area
    }

    static func centred(_ w: Int, _ h: Int, in rect: Rect) -> Rect {
        Rect(x: rect.x + (rect.width - w) / 2, y: rect.y + (rect.height - h) / 2, width: w, height: h)
    }

    /// Two pixels per cell; an odd last row leaves the lower half in `background`.
    public static func drawHalfBlocks(_ p: PixelImage, into grid: inout CellGrid, at origin: Rect, background: CellColor) {
        for row in 0..<((p.height + 1) / 2) {
            for x in 0..<p.width {
                let upper = p[x, 2 * row]
                let lower: CellColor = 2 * row + 1 < p.height ? .rgb(p[x, 2 * row + 1]) : background
                grid.set(origin.x + x, origin.y + row, "▀", CellStyle(fg: .rgb(upper), bg: lower), clip: origin)
            }
        }
    }

    public static func drawRamp(_ values: [Double], width: Int, into grid: inout CellGrid, at origin: Rect) {
        for (i, v) in values.enumerated() {
            grid.set(origin.x + i % width, origin.y + i / width, rampCharacter(v), .plain, clip: origin)
        }
    }

    public static func rampCharacter(_ v: Double) -> Character {
        let t = v.isNaN ? 0 : min(max(v, 0), 1)
        return asciiRamp[min(asciiRamp.count - 1, Int(t * Double(asciiRamp.count)))]
    }

    // MARK: legend

    /// One row: "lo ▕bar▏ hi", the bar coloured by the colormap (ramp characters in ASCII
    /// mode), with a "┃" at the threshold's position when it is inside the range.
    public func drawLegend(into grid: inout CellGrid, rect: Rect, ascii: Bool, labelStyle: CellStyle, markerColor: CellColor) {
        guard rect.height > 0 else { return }
        let lo = NumberFormat.short(Double(range.lowerBound)), hi = NumberFormat.short(Double(range.upperBound))
        let barX = grid.put(lo + " ", x: rect.x, y: rect.y, style: labelStyle, clip: rect)
        let barWidth = rect.maxX - barX - hi.count - 1
        guard barWidth >= 2 else { return }
        let marker = barWidth > 1 ? Int((normalized(threshold) * Double(barWidth - 1)).rounded()) : 0
        let markerVisible = threshold >= range.lowerBound && threshold <= range.upperBound
        for i in 0..<barWidth {
            let t = Double(i) / Double(barWidth - 1)
            let bg: CellColor = ascii ? labelStyle.bg : .rgb(colormap.color(at: t))
            let isMarker = markerVisible && i == marker
            let ch: Character = isMarker ? "┃" : (ascii ? Self.rampCharacter(t) : " ")
            grid.set(barX + i, rect.y, ch, CellStyle(fg: isMarker ? markerColor : labelStyle.fg, bg: bg, attributes: isMarker ? [.bold] : []), clip: rect)
        }
        grid.put(" " + hi, x: barX + barWidth, y: rect.y, style: labelStyle, clip: rect)
    }
}
