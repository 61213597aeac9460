/// Pane 2: progress line, loss curves per pyramid level and total, held-out normal scores.
public struct TrainingPane: Pane {
    public let id = PaneID.training
    public init() {}

    /// Status parts packed into as few lines of `width` columns as they need.
    func statusLines(_ s: TrainingStatus, width: Int) -> [String] {
        let phase: String
        switch s.phase {
        case .idle: phase = "idle"
        case .running: phase = "running"
        case .paused: phase = "paused"
        case .finished: phase = "finished"
        case .failed(let why): phase = "failed: \(why)"
        }
        var parts = [phase, "epoch \(s.epoch)/\(s.totalEpochs)", "step \(s.step)/\(s.totalSteps)"]
        if let r = s.imagesPerSecond { parts.append("\(NumberFormat.short(r)) img/s") }
        if let eta = s.etaSeconds, s.phase == .running { parts.append("ETA \(NumberFormat.duration(eta))") }
        return TextWidth.wrapParts(parts, width: width)
    }

    public func draw(_ state: ConsoleState, _ ctx: RenderContext, into grid: inout CellGrid, content: Rect) {
        if let live = state.live { return LiveStrip().draw(live, threshold: state.threshold, ctx, into: &grid, content: content) }
        let t = ctx.theme, s = state.training
        let failed: Bool = { if case .failed = s.phase { return true }; return false }()
        let status = statusLines(s, width: content.width)
        for (i, line) in status.enumerated() {
            grid.put(line, x: content.x, y: content.y + i, style: t.style(failed ? .defect : .title, [.bold]), clip: content)
        }
        let (chartArea, footer) = content.splitTop(content.height - 1)
        let levels: [ThemeKey] = [.level1, .level2, .level3]
        let series = zip(levels, s.levelLosses).enumerated().map { i, pair in
            ChartSeries(name: "level\(i + 1)", color: t[pair.0], points: pair.1)
        } + [ChartSeries(name: "total", color: t[.total], points: s.totalLoss)]
        let chart = chartArea.splitTop(status.count).1
        let planned = Double(s.totalEpochs * s.totalSteps)
        LineChart(series: series, logScale: state.logScale, xDomain: planned >= 1 ? 1...planned : nil).draw(into: &grid, rect: chart, labelStyle: t.style(.mainFg))
        let scale = state.logScale ? "log" : "linear"
        let heldOut = s.heldOutScores.suffix(6).map { NumberFormat.short($0.y) }.joined(separator: " ")
        grid.put("held-out normal: \(heldOut.isEmpty ? "–" : heldOut)   [\(scale)]", x: footer.x, y: footer.y, style: t.style(.inactiveFg), clip: footer)
    }
}
