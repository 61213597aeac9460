import Detection

/// A gradient of evenly spaced RGB stops, sampled by linear interpolation.
public struct Colormap: Equatable, Sendable {
    public var name: String
    public var stops: [RGB]

    public init(name: String, stops: [RGB]) {
        precondition(stops.count >= 2, "a colormap needs at least two stops")
        self.name = name; self.stops = stops
    }

    /// Colour at `t` in 0...1; values outside are clamped, NaN maps to the low end.
    public func color(at t: Double) -> RGB {
        let t = t.isNaN ? 0 : min(max(t, 0), 1)
        let pos = t * Double(stops.count - 1)
        let i = min(Int(pos), stops.count - 2)
        return stops[i].mixed(with: stops[i + 1], pos - Double(i))
    }
}

extension Colormap {
    /// The exporter's jet (`OverlayHeatmap.jetStops`), so the console and the exported overlays agree.
    /// Used when `colormaps.conf` cannot be found; the file must agree.
    public static let builtinJet = Colormap(name: "jet", stops: OverlayHeatmap.jetStops.map { RGB($0.0, $0.1, $0.2) })
}
