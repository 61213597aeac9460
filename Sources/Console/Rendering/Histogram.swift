/// Score histogram of two classes (normal and defective, or held-out normal scores alone),
/// stacked per column, with a vertical marker at the threshold. One column is one bin.
/// The bottom row is the axis: range ends and a "▲" under the marker.
public struct Histogram: Sendable {
    public var normal: [Double]
    public var defective: [Double]
    public var threshold: Double
    /// Nil: the span of all scores and the threshold.
    public var range: ClosedRange<Double>?

    public init(normal: [Double], defective: [Double], threshold: Double, range: ClosedRange<Double>? = nil) {
        self.normal = normal; self.defective = defective; self.threshold = threshold; self.range = range
    }

    public var effectiveRange: ClosedRange<Double> {
        if let range, range.upperBound > range.lowerBound { return range }
        let all = (normal + defective + [threshold]).filter(\.isFinite)
        let lo = all.min() ?? 0, hi = all.max() ?? 1
        return hi > lo ? lo...hi : (lo - 0.5)...(hi + 0.5)
    }

    /// Bin of `v` among `count` equal bins; values outside the range land in the end bins.
    public func bin(of v: Double, count: Int) -> Int {
        let r = effectiveRange
        return min(max(Int((v - r.lowerBound) / (r.upperBound - r.lowerBound) * Double(count)), 0), count - 1)
    }

    public func counts(bins: Int) -> (normal: [Int], defective: [Int]) {
        var n = Array(repeating: 0, count: bins), d = n
        for v in normal where v.isFinite { n[bin(of: v, count: bins)] += 1 }
        for v in defective where v.isFinite { d[bin(of: v, count: bins)] += 1 }
        return (n, d)
    }

    public struct Colors: Sendable {
        public var normal: CellColor, defective: CellColor, marker: CellColor
        public init(normal: CellColor, defective: CellColor, marker: CellColor) {
            self.normal = normal; self.defective = defective; self.marker = marker
        }
    }

    /// In ASCII mode classes differ by glyph (":" normal, "#" defective) instead of colour,
    /// at whole-cell resolution.
    public func draw(into grid: inout CellGrid, rect: Rect, colors: Colors, labelStyle: CellStyle, ascii: Bool) {
        guard rect.width >= 4, rect.height >= 2 else { return }
        let bars = Rect(x: rect.x, y: rect.y, width: rect.width, height: rect.height - 1)
        let (n, d) = counts(bins: bars.width)
        let peak = max(1, zip(n, d).map { $0 + $1 }.max() ?? 1)
        let unit = ascii ? 1 : 8
        let marker = bin(of: threshold, count: bars.width)
        for col in 0..<bars.width {
            let normalUnits = Int((Double(n[col]) / Double(peak) * Double(bars.height * unit)).rounded(.up))
            let totalUnits = Int((Double(n[col] + d[col]) / Double(peak) * Double(bars.height * unit)).rounded(.up))
            for row in 0..<bars.height {
                let base = row * unit
                let a = min(max(normalUnits - base, 0), unit), t = min(max(totalUnits - base, 0), unit)
                let y = bars.maxY - 1 - row, x = bars.x + col
                if t == 0 {
                    if col == marker { grid.set(x, y, ascii ? "|" : "│", labelStyle.with(fg: colors.marker, attributes: [.bold])) }
                } else if ascii {
                    grid.set(x, y, a > 0 ? ":" : "#", labelStyle)
                } else if a == 0 {
                    grid.set(x, y, Self.eighths[t], labelStyle.with(fg: colors.defective))
                } else {
                    grid.set(x, y, Self.eighths[a], CellStyle(fg: colors.normal, bg: t > a ? colors.defective : labelStyle.bg))
                }
            }
        }
        let r = effectiveRange
        grid.fill(Rect(x: rect.x, y: rect.maxY - 1, width: rect.width, height: 1), style: labelStyle)
        // An end label under the marker would be misread ("1▲75"), so the marker wins.
        let lo = NumberFormat.short(r.lowerBound), hi = NumberFormat.short(r.upperBound)
        if marker >= lo.count { grid.put(lo, x: rect.x, y: rect.maxY - 1, style: labelStyle, clip: rect) }
        if marker < rect.width - hi.count { grid.put(hi, x: rect.maxX - hi.count, y: rect.maxY - 1, style: labelStyle, clip: rect) }
        grid.set(rect.x + marker, rect.maxY - 1, "▲", labelStyle.with(fg: colors.marker, attributes: [.bold]))
    }

    static let eighths: [Character] = [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
}
