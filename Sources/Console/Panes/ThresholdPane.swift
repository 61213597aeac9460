import Detection

/// Pane 4: threshold value, live flagged count, precision/recall/F1, false alarms and recall per
/// defect type when labels exist, and the score histogram (defective vs normal; unlabelled scores
/// count as normal, which is what held-out normal images are).
public struct ThresholdPane: Pane {
    public let id = PaneID.threshold
    public init() {}

    /// The threshold line first, then the counts, packed into as few lines of `width` as fit.
    func summary(_ state: ConsoleState, width: Int) -> [String] {
        var parts = ["threshold \(NumberFormat.short(state.threshold))"]
        if let stored = state.storedThreshold { parts.append("stored \(NumberFormat.short(stored))") }
        parts.append("flagged \(state.flaggedRows.count)/\(state.rows.filter { $0.score != nil || $0.manuallyFlagged }.count)")
        let stats = ConfusionSummary(state.labelledScores, threshold: state.threshold)
        if state.rows.allSatisfy({ $0.score == nil }) && !state.heldOutNormalScores.isEmpty {
            parts.append("held-out normal scores:")
        }
        if stats.count > 0 {
            func f(_ v: Double?) -> String { v.map { NumberFormat.short($0) } ?? "–" }
            parts += ["P \(f(stats.precision))", "R \(f(stats.recall))", "F1 \(f(stats.f1))"]
            if stats.falseAlarmRate != nil { parts.append("false alarms \(stats.fp)/\(stats.fp + stats.tn)") }
            let byType = state.recallByType
            if !byType.isEmpty { parts += ["recall by type:"] + byType.map { "\($0.type) \($0.flagged)/\($0.total)" } }
        }
        return TextWidth.wrapParts(parts, width: width)
    }

    public func draw(_ state: ConsoleState, _ ctx: RenderContext, into grid: inout CellGrid, content: Rect) {
        let t = ctx.theme
        let lines = summary(state, width: content.width)
        for (i, line) in lines.enumerated() {
            grid.put(line, x: content.x, y: content.y + i, style: t.style(i == 0 ? .title : .mainFg, i == 0 ? [.bold] : []), clip: content)
        }
        let colors = Histogram.Colors(normal: t[.histNormal], defective: t[.histDefect], marker: t[.threshold])
        histogram(state).draw(into: &grid, rect: content.splitTop(lines.count).1, colors: colors, labelStyle: t.style(.mainFg), ascii: state.isASCII)
    }

    func histogram(_ state: ConsoleState) -> Histogram {
        let scored = state.rows.filter { $0.score != nil }
        return scored.isEmpty
            ? Histogram(normal: state.heldOutNormalScores, defective: [], threshold: state.threshold)
            : Histogram(normal: scored.filter { $0.label != .defective }.map { $0.score! },
                        defective: scored.filter { $0.label == .defective }.map { $0.score! },
                        threshold: state.threshold)
    }

    /// The score at the middle of the histogram column under (x, y); nil outside the histogram.
    func threshold(atX x: Int, y: Int, _ state: ConsoleState, content: Rect) -> Double? {
        let rect = content.splitTop(summary(state, width: content.width).count).1
        guard rect.width >= 4, rect.height >= 2, rect.contains(x: x, y: y) else { return nil }
        let range = histogram(state).effectiveRange
        return range.lowerBound + (Double(x - rect.x) + 0.5) / Double(rect.width) * (range.upperBound - range.lowerBound)
    }
}
