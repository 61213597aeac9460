/// The live view in the training pane's place: the watcher's counters, the newest alarm, and a strip
/// chart of the last scores with the threshold as a second line.
struct LiveStrip {
    func lines(_ live: LiveWatchStatus, width: Int) -> [String] {
        var parts = ["seen \(live.seen)", "flagged \(live.flagged)", "unreadable \(live.unreadable)"]
        if let r = live.rate { parts.append("\(NumberFormat.short(r)) img/s") }
        if let l = live.lag { parts.append("lag \(NumberFormat.short(l)) s") }
        if live.waiting > 0 { parts.append("waiting \(live.waiting)") }
        return TextWidth.wrapParts(parts, width: width)
    }

    func draw(_ live: LiveWatchStatus, threshold: Double, _ ctx: RenderContext, into grid: inout CellGrid, content: Rect) {
        let t = ctx.theme
        let counters = lines(live, width: content.width)
        for (i, line) in counters.enumerated() {
            grid.put(line, x: content.x, y: content.y + i, style: t.style(.title, [.bold]), clip: content)
        }
        var top = counters.count
        if let alarm = live.alarm {
            grid.put("▲ " + alarm, x: content.x, y: content.y + top, style: t.style(.defect, [.bold]), clip: content)
            top += 1
        }
        let (chartArea, footer) = content.splitTop(content.height - 1)
        let scores = live.recentScores.enumerated().map { ChartPoint(x: Double($0.offset + 1), y: $0.element) }
        let span = Double(max(live.recentScores.count, 2))
        let series = [ChartSeries(name: "score", color: t[.total], points: scores),
                      ChartSeries(name: "threshold", color: t[.defect], points: [ChartPoint(x: 1, y: threshold), ChartPoint(x: span, y: threshold)])]
        LineChart(series: series, xDomain: 1...span).draw(into: &grid, rect: chartArea.splitTop(top).1, labelStyle: t.style(.mainFg))
        let following = live.followNewest ? "the inspector follows the newest flagged image" : "n: follow the newest flagged image"
        grid.put("last \(live.recentScores.count) scores, threshold \(NumberFormat.short(threshold)) · \(following)",
                 x: footer.x, y: footer.y, style: t.style(.inactiveFg), clip: footer)
    }
}
