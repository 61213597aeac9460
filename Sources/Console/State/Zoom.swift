/// The inspector enlarged to the whole terminal (`z`): which part of the image is shown.
public struct Zoom: Equatable, Sendable {
    public static let maximumScale = 16.0
    /// Magnification over the whole image fitted to the screen; 1 shows all of it.
    public private(set) var scale = 1.0
    /// The image point at the centre of the view, as fractions of the image's width and height.
    public private(set) var centreX = 0.5, centreY = 0.5

    public init() {}

    /// The visible part of the image as fractions (origin and size), always inside the image.
    public var window: (x: Double, y: Double, size: Double) {
        let size = 1 / scale
        return (min(max(centreX - size / 2, 0), 1 - size), min(max(centreY - size / 2, 0), 1 - size), size)
    }

    /// Moves by fractions of the visible part (a quarter per arrow press).
    public mutating func pan(x: Double, y: Double) {
        let w = window
        centreX = w.x + w.size / 2 + x * w.size
        centreY = w.y + w.size / 2 + y * w.size
        clampCentre()
    }

    public mutating func magnify(by factor: Double) {
        scale = min(max(scale * factor, 1), Self.maximumScale)
        clampCentre()
    }

    /// Centres on a point (fractions) at no less than `scale` 4.
    public mutating func focus(x: Double, y: Double) {
        scale = max(scale, 4)
        (centreX, centreY) = (x, y)
        clampCentre()
    }

    /// The centre of the window actually shown, so that panning from an edge moves at once.
    private mutating func clampCentre() {
        let w = window
        (centreX, centreY) = (w.x + w.size / 2, w.y + w.size / 2)
    }
}

extension InspectorImage {
    /// The part of every layer inside `window` (fractions of each layer's own size, so layers of
    /// different resolutions stay aligned); at least one pixel of each.
    public func cropped(to window: (x: Double, y: Double, size: Double)) -> InspectorImage {
        func span(_ n: Int, _ start: Double) -> Range<Int> {
            let lo = min(Int((start * Double(n)).rounded(.down)), n - 1)
            return lo..<max(lo + 1, min(n, Int(((start + window.size) * Double(n)).rounded(.up))))
        }
        func crop(_ m: ScalarMap?) -> ScalarMap? {
            m.map { m in
                let xs = span(m.width, window.x), ys = span(m.height, window.y)
                return ScalarMap(width: xs.count, height: ys.count, values: ys.flatMap { y in xs.map { m[$0, y] } })
            }
        }
        let photo = image.map { p in
            let xs = span(p.width, window.x), ys = span(p.height, window.y)
            return PixelImage(width: xs.count, height: ys.count, pixels: ys.flatMap { y in xs.map { p[$0, y] } })
        }
        return InspectorImage(image: photo, anomalyMap: crop(anomalyMap), groundTruth: crop(groundTruth))
    }

    /// Where the anomaly map peaks, as fractions of its size (the pixel's centre); nil without a map.
    public var peak: (x: Double, y: Double)? {
        guard let m = anomalyMap, let i = m.values.indices.max(by: { m.values[$0] < m.values[$1] }) else { return nil }
        return ((Double(i % m.width) + 0.5) / Double(m.width), (Double(i / m.width) + 0.5) / Double(m.height))
    }
}
