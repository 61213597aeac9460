import Detection

/// Pane 4: threshold value, live flagged count, precision/recall/F1, false alarms and recall per
/// defect type when labels exist, and the score histogram (defective vs normal; unlabelled scores
/// count as normal, which is what held-out normal images are). With two models, one such block
/// per model, stacked, the one the threshold keys act on marked "▸".
public struct ThresholdPane: Pane {
    public let id = PaneID.threshold
    public init() {}

    /// The threshold line first, then the counts, packed into as few lines of `width` as fit.
    func summary(_ state: ConsoleState, _ slot: ModelSlot = .a, width: Int) -> [String] {
        let threshold = state.threshold(of: slot)
        let mark = state.comparison == nil ? "" : (slot == state.thresholdFocus ? "▸" : " ") + slot.rawValue + " "
        var parts = ["\(mark)threshold \(NumberFormat.short(threshold))"]
        if let stored = state.storedThreshold(of: slot) { parts.append("stored \(NumberFormat.short(stored))") }
        parts.append("flagged \(state.flaggedRows(of: slot).count)/\(state.rows.filter { $0[keyPath: slot.score] != nil || $0.manuallyFlagged }.count)")
        let stats = ConfusionSummary(state.labelledScores(of: slot), threshold: threshold)
        if state.rows.allSatisfy({ $0[keyPath: slot.score] == nil }) && !state.heldOutNormalScores(of: slot).isEmpty {
            parts.append("held-out normal scores:")
        }
        if stats.count > 0 {
            func f(_ v: Double?) -> String { v.map { NumberFormat.short($0) } ?? "–" }
            parts += ["P \(f(stats.precision))", "R \(f(stats.recall))", "F1 \(f(stats.f1))"]
            if stats.falseAlarmRate != nil { parts.append("false alarms \(stats.fp)/\(stats.fp + stats.tn)") }
            // With two models each block has half the pane: the per-type lines would leave no room for the histogram.
            let byType = state.comparison == nil ? state.recallByType(of: slot) : []
            if !byType.isEmpty { parts += ["recall by type:"] + byType.map { "\($0.type) \($0.flagged)/\($0.total)" } }
        }
        return TextWidth.wrapParts(parts, width: width)
    }

    /// Each model's block: all of `content` for one model, the top and bottom halves for two.
    func blocks(_ state: ConsoleState, content: Rect) -> [(slot: ModelSlot, rect: Rect)] {
        guard state.comparison != nil else { return [(.a, content)] }
        let (top, bottom) = content.splitTop(content.height / 2)
        return [(.a, top), (.b, bottom)]
    }

    public func draw(_ state: ConsoleState, _ ctx: RenderContext, into grid: inout CellGrid, content: Rect) {
        let t = ctx.theme
        for (slot, rect) in blocks(state, content: content) {
            let lines = summary(state, slot, width: rect.width)
            for (i, line) in lines.enumerated() where i < rect.height {
                grid.put(line, x: rect.x, y: rect.y + i, style: t.style(i == 0 ? .title : .mainFg, i == 0 ? [.bold] : []), clip: rect)
            }
            let colors = Histogram.Colors(normal: t[.histNormal], defective: t[.histDefect], marker: t[.threshold])
            histogram(state, slot).draw(into: &grid, rect: rect.splitTop(lines.count).1, colors: colors, labelStyle: t.style(.mainFg), ascii: state.isASCII)
        }
    }

    func histogram(_ state: ConsoleState, _ slot: ModelSlot) -> Histogram {
        let scored = state.rows.compactMap { r in r[keyPath: slot.score].map { (score: $0, label: r.label) } }
        let threshold = state.threshold(of: slot)
        return scored.isEmpty
            ? Histogram(normal: state.heldOutNormalScores(of: slot), defective: [], threshold: threshold)
            : Histogram(normal: scored.filter { $0.label != .defective }.map(\.score),
                        defective: scored.filter { $0.label == .defective }.map(\.score),
                        threshold: threshold)
    }

    /// The model whose histogram is under (x, y), and the score at the middle of the column there; nil outside the histograms.
    func hit(atX x: Int, y: Int, _ state: ConsoleState, content: Rect) -> (slot: ModelSlot, value: Double)? {
        for (slot, block) in blocks(state, content: content) {
            let rect = block.splitTop(summary(state, slot, width: block.width).count).1
            guard rect.width >= 4, rect.height >= 2, rect.contains(x: x, y: y) else { continue }
            let range = histogram(state, slot).effectiveRange
            return (slot, range.lowerBound + (Double(x - rect.x) + 0.5) / Double(rect.width) * (range.upperBound - range.lowerBound))
        }
        return nil
    }
}
