import ImageIO

/// Anomaly maps as pictures. Maps are shown on a fixed scale [0, scale] rather than min-max per image,
/// so a good image stays cool-coloured instead of being stretched until it looks anomalous.
public enum OverlayHeatmap {
    /// The display and 16-bit scale of one map: max(2 x threshold, map max). Below twice the threshold
    /// every image shares the same scale (the threshold sits at the middle of the colormap); a map above
    /// it gets its own max so neither the colours nor the 16-bit values clip. Without a threshold the map's
    /// own max is used. Never 0, so dividing by it is safe.
    public static func scale(mapMax: Float, threshold: Float?) -> Float {
        let s = max(2 * (threshold ?? 0), mapMax)
        return s > 0 && s.isFinite ? s : 1
    }

    /// OpenCV's (and anomalib's) jet at its nine breakpoints (it is piecewise linear between them): the
    /// one table behind the exported overlays and the console's built-in jet.
    public static let jetStops: [(UInt8, UInt8, UInt8)] = [
        (0, 0, 128), (0, 0, 255), (0, 128, 255), (0, 255, 255), (128, 255, 128),
        (255, 255, 0), (255, 128, 0), (255, 0, 0), (128, 0, 0),
    ]

    static func jet(_ t: Float) -> (Float, Float, Float) {
        let t = t.isNaN ? 0 : min(max(t, 0), 1)
        let pos = t * Float(jetStops.count - 1)
        let i = min(Int(pos), jetStops.count - 2)
        let f = pos - Float(i)
        let a = jetStops[i], b = jetStops[i + 1]
        func mix(_ a: UInt8, _ b: UInt8) -> Float { Float(a) + (Float(b) - Float(a)) * f }
        return (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
    }

    /// `image` (RGB, size x size) blended half and half with the jet colours of `map / scale`.
    public static func overlay(image: Image8, map: [Float], scale: Float, alpha: Float = 0.5) -> Image8 {
        precondition(image.channels == 3 && map.count == image.width * image.height, "overlay: map and RGB image sizes differ")
        var out = image
        for (i, v) in map.enumerated() {
            let (r, g, b) = jet(v / scale)
            let p = i * 3
            out.pixels[p] = UInt8((Float(image.pixels[p]) * (1 - alpha) + r * alpha).rounded())
            out.pixels[p + 1] = UInt8((Float(image.pixels[p + 1]) * (1 - alpha) + g * alpha).rounded())
            out.pixels[p + 2] = UInt8((Float(image.pixels[p + 2]) * (1 - alpha) + b * alpha).rounded())
        }
        return out
    }

    /// The raw map for `PNGFile.writeGray16`: value = map / scale x 65535, rounded and clamped.
    public static func gray16(map: [Float], scale: Float) -> [UInt16] {
        map.map { UInt16((min(max($0 / scale, 0), 1) * 65535).rounded()) }
    }
}
