import Foundation

public struct ChartPoint: Equatable, Sendable {
    public var x: Double, y: Double
    public init(x: Double, y: Double) { self.x = x; self.y = y }
}

public struct ChartSeries: Equatable, Sendable {
    public var name: String
    public var color: CellColor
    public var points: [ChartPoint]

    public init(name: String, color: CellColor, points: [ChartPoint]) {
        self.name = name; self.color = color; self.points = points
    }
}

/// Several series over a shared x axis (training step), drawn as braille dots: each cell is
/// a 2×4 dot matrix, so a w×h plot has 2w×4h points of resolution. Consecutive samples are
/// joined, so the curve stays continuous however many samples fall into one column.
/// Layout: a legend row, the plot with min/max y labels on the left, an x-axis row.
public struct LineChart: Sendable {
    public var series: [ChartSeries]
    /// log10 y axis; samples ≤ 0 are skipped since they have no logarithm.
    public var logScale: Bool
    /// A fixed x extent (a run's total steps), so curves visibly grow to the right while a
    /// run is going instead of being stretched across the width at every step.
    public var xDomain: ClosedRange<Double>?

    public init(series: [ChartSeries], logScale: Bool = false, xDomain: ClosedRange<Double>? = nil) {
        self.series = series; self.logScale = logScale; self.xDomain = xDomain
    }

    func transformed(_ y: Double) -> Double? {
        guard y.isFinite else { return nil }
        if logScale { return y > 0 ? log10(y) : nil }
        return y
    }

    /// (x range, transformed y range) over all plottable samples, widened when degenerate.
    func bounds() -> (x: ClosedRange<Double>, y: ClosedRange<Double>)? {
        let pts = series.flatMap { $0.points.compactMap { p in transformed(p.y).map { (p.x, $0) } } }
        guard let x0 = pts.map(\.0).min(), let x1 = pts.map(\.0).max(),
              let y0 = pts.map(\.1).min(), let y1 = pts.map(\.1).max() else { return nil }
        let x = xDomain.map { min($0.lowerBound, x0)...max($0.upperBound, x1) } ?? (x0...x1)
        return (x.upperBound > x.lowerBound ? x : x.lowerBound...(x.lowerBound + 1), y1 > y0 ? y0...y1 : (y0 - 0.5)...(y1 + 0.5))
    }

    public func draw(into grid: inout CellGrid, rect: Rect, labelStyle: CellStyle) {
        guard rect.height >= 3, rect.width >= 8 else { return }
        var legendX = rect.x
        for s in series {
            legendX = grid.put("━ ", x: legendX, y: rect.y, style: labelStyle.with(fg: s.color), clip: rect)
            legendX = grid.put(s.name + "  ", x: legendX, y: rect.y, style: labelStyle, clip: rect)
        }
        guard let (xr, yr) = bounds() else {
            grid.put("no data yet", x: rect.x, y: rect.y + 1, style: labelStyle.with(attributes: [.dim]), clip: rect)
            return
        }
        func label(_ t: Double) -> String { NumberFormat.short(logScale ? pow(10, t) : t) }
        let top = label(yr.upperBound), bottom = label(yr.lowerBound)
        let gutter = max(top.count, bottom.count) + 1
        let plot = Rect(x: rect.x + gutter, y: rect.y + 1, width: rect.width - gutter, height: rect.height - 2)
        guard plot.width >= 2, plot.height >= 1 else { return }
        grid.put(top, x: plot.x - 1 - top.count, y: plot.y, style: labelStyle, clip: rect)
        grid.put(bottom, x: plot.x - 1 - bottom.count, y: plot.maxY - 1, style: labelStyle, clip: rect)
        grid.verticalLine(x: plot.x - 1, y: plot.y, length: plot.height, style: labelStyle, character: "┤")
        let axisY = plot.maxY
        grid.put(NumberFormat.short(xr.lowerBound), x: plot.x, y: axisY, style: labelStyle, clip: rect)
        let right = NumberFormat.short(xr.upperBound)
        grid.put(right, x: plot.maxX - right.count, y: axisY, style: labelStyle, clip: rect)

        var canvas = BrailleCanvas(width: plot.width, height: plot.height)
        for (index, s) in series.enumerated() {
            var previous: (Int, Int)?
            for p in s.points {
                guard let t = transformed(p.y) else { previous = nil; continue }
                let dx = Int(((p.x - xr.lowerBound) / (xr.upperBound - xr.lowerBound) * Double(canvas.dotsWide - 1)).rounded())
                let dy = Int(((yr.upperBound - t) / (yr.upperBound - yr.lowerBound) * Double(canvas.dotsHigh - 1)).rounded())
                if let (px, py) = previous { canvas.line(from: (px, py), to: (dx, dy), series: index) } else { canvas.dot(dx, dy, series: index) }
                previous = (dx, dy)
            }
        }
        canvas.draw(into: &grid, at: plot, colors: series.map(\.color), background: labelStyle.bg)
    }
}

/// Dots on a grid of braille cells. A cell shows one colour, so the series drawn last into a
/// cell colours it; all dots stay visible.
struct BrailleCanvas {
    let width: Int, height: Int
    private var bits: [UInt8]
    private var owner: [Int]

    init(width: Int, height: Int) {
        self.width = width; self.height = height
        bits = Array(repeating: 0, count: width * height)
        owner = Array(repeating: -1, count: width * height)
    }

    var dotsWide: Int { width * 2 }
    var dotsHigh: Int { height * 4 }

    /// Unicode braille numbers dots 1-2-3-7 down the left column and 4-5-6-8 down the right.
    private static let dotBit: [[UInt8]] = [[0x01, 0x02, 0x04, 0x40], [0x08, 0x10, 0x20, 0x80]]

    mutating func dot(_ x: Int, _ y: Int, series: Int) {
        guard x >= 0, y >= 0, x < dotsWide, y < dotsHigh else { return }
        let i = (y / 4) * width + x / 2
        bits[i] |= Self.dotBit[x % 2][y % 4]
        owner[i] = series
    }

    /// Bresenham, so steep drops (a loss falling fast) stay connected.
    mutating func line(from a: (Int, Int), to b: (Int, Int), series: Int) {
        var (x, y) = a
        let dx = abs(b.0 - x), dy = -abs(b.1 - y)
        let sx = x < b.0 ? 1 : -1, sy = y < b.1 ? 1 : -1
        var err = dx + dy
        while true {
            dot(x, y, series: series)
            if x == b.0 && y == b.1 { return }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x += sx }
            if e2 <= dx { err += dx; y += sy }
        }
    }

    func draw(into grid: inout CellGrid, at rect: Rect, colors: [CellColor], background: CellColor) {
        for y in 0..<height {
            for x in 0..<width where bits[y * width + x] != 0 {
                let i = y * width + x
                let ch = Character(Unicode.Scalar(0x2800 + UInt32(bits[i]))!)
                grid.set(rect.x + x, rect.y + y, ch, CellStyle(fg: colors[owner[i]], bg: background), clip: rect)
            }
        }
    }
}
