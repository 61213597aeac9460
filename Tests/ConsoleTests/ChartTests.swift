import XCTest
@testable import Console

final class LineChartTests: XCTestCase {
    private let red = CellColor.rgb(RGB(255, 0, 0)), blue = CellColor.rgb(RGB(0, 0, 255))

    private func series(_ ys: [Double], color: CellColor, name: String = "total") -> ChartSeries {
        ChartSeries(name: name, color: color, points: ys.enumerated().map { ChartPoint(x: Double($0), y: $1) })
    }

    func testDiagonalBrailleAndLabels() {
        var g = CellGrid(width: 12, height: 4)
        LineChart(series: [series([0, 1], color: red)]).draw(into: &g, rect: g.bounds, labelStyle: .plain)
        let rows = g.plainText()
        XCTAssertEqual(rows[0], "━ total     ")
        XCTAssertTrue(rows[1].hasPrefix("1┤"))
        XCTAssertTrue(rows[2].hasPrefix("0┤"))
        XCTAssertEqual(rows[3], "  0        1")
        // 10 cells = 20 dots wide, 2 rows = 8 dots high; the line rises left to right.
        XCTAssertEqual(g[2, 2].character, "⣀", "bottom-left cell holds the bottom dots of the start")
        XCTAssertEqual(g[11, 1].character, "⠉", "top-right cell holds the top dots of the end")
        XCTAssertEqual(g[11, 1].style.fg, red)
    }

    func testLogScaleChangesLabelsAndSkipsNonPositive() {
        var g = CellGrid(width: 16, height: 5)
        var chart = LineChart(series: [series([100, 10, 1, 0, 0.01], color: red)], logScale: true)
        chart.draw(into: &g, rect: g.bounds, labelStyle: .plain)
        XCTAssertTrue(g.plainText()[1].hasPrefix(" 100┤"))
        XCTAssertTrue(g.plainText()[3].hasPrefix("0.01┤"))
        chart.logScale = false
        g = CellGrid(width: 16, height: 5)
        chart.draw(into: &g, rect: g.bounds, labelStyle: .plain)
        XCTAssertTrue(g.plainText()[3].hasPrefix("  0┤"), "linear min is the zero sample")
    }

    func testManySamplesStillFillEveryColumnAndColourByLastSeries() throws {
        let n = 5000
        var g = CellGrid(width: 20, height: 6)
        let a = series((0..<n).map { 1 + sin(Double($0) / 300) }, color: red, name: "level1")
        let b = series((0..<n).map { _ in 1 }, color: blue, name: "level2")
        LineChart(series: [a, b]).draw(into: &g, rect: g.bounds, labelStyle: .plain)
        XCTAssertTrue(g.plainText()[5].hasSuffix("4999"), "x axis shows the last step")
        let axis = try XCTUnwrap((0..<20).first { g[$0, 1].character == "┤" })
        let plotXs = (axis + 1)..<20
        for x in plotXs {
            XCTAssertTrue((1...4).contains { y in g[x, y].character != " " && g[x, y].character != "┤" }, "column \(x) empty")
        }
        let blueCells = (1...4).flatMap { y in plotXs.map { g[$0, y] } }.filter { $0.style.fg == blue }
        XCTAssertGreaterThan(blueCells.count, 10)
    }

    func testEmptyChartSaysSo() {
        var g = CellGrid(width: 20, height: 3)
        LineChart(series: [series([], color: red)]).draw(into: &g, rect: g.bounds, labelStyle: .plain)
        XCTAssertEqual(g.plainText()[1].trimmingCharacters(in: .whitespaces), "no data yet")
    }
}

final class HistogramTests: XCTestCase {
    private let colors = Histogram.Colors(normal: .rgb(RGB(0, 0, 255)), defective: .rgb(RGB(255, 0, 0)), marker: .rgb(RGB(255, 255, 0)))

    func testBinningAndCounts() {
        let h = Histogram(normal: [0, 0.1, 0.2, 0.2], defective: [0.9, 1.0, 5.0], threshold: 0.5, range: 0...1)
        let c = h.counts(bins: 10)
        XCTAssertEqual(c.normal, [1, 1, 2, 0, 0, 0, 0, 0, 0, 0])
        XCTAssertEqual(c.defective, [0, 0, 0, 0, 0, 0, 0, 0, 0, 3], "values above the range count in the last bin")
        XCTAssertEqual(h.bin(of: 0.5, count: 10), 5)
    }

    func testMarkerColumnFollowsThreshold() {
        var h = Histogram(normal: [0.1, 0.15], defective: [0.8], threshold: 0.3, range: 0...1)
        func markerColumn() -> Int? {
            var g = CellGrid(width: 20, height: 5)
            h.draw(into: &g, rect: g.bounds, colors: colors, labelStyle: .plain, ascii: false)
            let marked = (0..<20).filter { g[$0, 0].character == "│" && g[$0, 0].style.fg == colors.marker }
            XCTAssertEqual(g[marked.first ?? 0, 4].character, "▲")
            return marked.count == 1 ? marked[0] : nil
        }
        XCTAssertEqual(markerColumn(), 6)
        h.threshold = 0.6
        XCTAssertEqual(markerColumn(), 12)
        h.threshold = 1
        XCTAssertEqual(markerColumn(), 19)
    }

    func testStackedBarsUseClassColours() {
        let h = Histogram(normal: [0.05], defective: [0.05, 0.95, 0.95], threshold: 0.5, range: 0...1)
        var g = CellGrid(width: 10, height: 3)
        h.draw(into: &g, rect: g.bounds, colors: colors, labelStyle: .plain, ascii: false)
        // Column 0: 1 normal + 1 defective of a peak of 2 → lower row normal, upper row defective.
        XCTAssertEqual(g[0, 1].character, "█"); XCTAssertEqual(g[0, 1].style.fg, colors.normal)
        XCTAssertEqual(g[0, 0].character, "█"); XCTAssertEqual(g[0, 0].style.fg, colors.defective)
        XCTAssertEqual(g[9, 0].style.fg, colors.defective)
        XCTAssertEqual(g.plainText()[2], "0    ▲   1")
    }

    func testAsciiModeUsesGlyphsPerClass() {
        let h = Histogram(normal: [0.0, 0.0], defective: [0.99], threshold: 0.5, range: 0...1)
        var g = CellGrid(width: 10, height: 3)
        h.draw(into: &g, rect: g.bounds, colors: colors, labelStyle: .plain, ascii: true)
        XCTAssertEqual(g.plainText(), [":    |    ", ":    |   #", "0    ▲   1"])
    }
}
