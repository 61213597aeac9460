import XCTest
@testable import Console
import Detection

/// `--model A --model B`: B's results reach B's side of the state by their generation, verdicts and
/// disagreements follow each model's threshold, threshold keys act on the model `M` picked, and the
/// panes draw both models.
final class TwoModelStateTests: XCTestCase {
    /// Rows as `ConsoleUpdateTests.opened()`, with model B opened beside A.
    static func compared() -> ConsoleState {
        var s = ConsoleUpdateTests.opened()
        XCTAssertEqual(s.openComparison("b"), .score(modelPath: "b", generation: ComparedModel.generation))
        return s
    }

    /// Both models scored the two test images: A flags the defect only, B flags both (at 0.5 each).
    static func scoredByBoth() -> ConsoleState {
        var s = compared()
        let map = ConsoleUpdateTests.map
        for (g, id, score) in [(1, 1, Float(0.2)), (1, 2, 0.9), (ComparedModel.generation, 1, 0.7), (ComparedModel.generation, 2, 0.8)] {
            XCTAssertEqual(s.update(.engine(.scored(generation: g, id: id, score: score, map: map([score])))), [])
        }
        return s
    }

    func testModelBResultsGoToModelBByGeneration() {
        var s = Self.compared()
        let map = ConsoleUpdateTests.map
        _ = s.update(.engine(.modelLoaded(generation: ComparedModel.generation, threshold: Threshold(choice: .percentile(99), value: 0.25),
                                          normalScores: [0.1, 0.2])))
        XCTAssertEqual(s.comparison?.threshold, 0.25)
        XCTAssertEqual(s.comparison?.storedThreshold, 0.25)
        XCTAssertEqual(s.comparison?.heldOutNormalScores, [Double(Float(0.1)), Double(Float(0.2))])
        XCTAssertEqual(s.threshold, 0.5, "A's threshold is A's")
        XCTAssertNil(s.storedThreshold)
        _ = s.update(.engine(.scored(generation: ComparedModel.generation, id: 2, score: 3, map: map([1, 3]))))
        XCTAssertEqual(s.rows[2].scoreB, 3)
        XCTAssertNil(s.rows[2].score, "B's score is not A's")
        XCTAssertNil(s.anomalyMaps[2])
        XCTAssertEqual(s.comparison?.anomalyMaps[2], map([1, 3]))
        _ = s.update(.engine(.scored(generation: 1, id: 2, score: 0.5, map: map([-1, 0.5]))))
        XCTAssertEqual(s.rows[2].score, 0.5)
        XCTAssertEqual(s.rows[2].scoreB, 3)
        XCTAssertEqual(s.mapRange, -1...3, "one colour scale over both models' maps")
        _ = s.update(.engine(.scoringFinished(generation: ComparedModel.generation, count: 2, seconds: 1)))
        XCTAssertEqual(s.status, "model B scored 2 test images in 1.0 s")
        // A new A (a finished training) leaves B alone.
        XCTAssertEqual(s.openModel("a2"), .score(modelPath: "a2", generation: 2))
        XCTAssertEqual(s.rows[2].scoreB, 3)
        XCTAssertNil(s.rows[2].score)
    }

    func testDisagreementFilterKeepsImagesFlaggedByOneModelOnly() {
        var s = Self.scoredByBoth()
        s.scope = "test/"
        XCTAssertEqual(s.visibleRows.map(\.id), [2, 1])
        XCTAssertEqual(s.handle(.char("D")), nil)
        XCTAssertTrue(s.disagreementsOnly)
        XCTAssertEqual(s.visibleRows.map(\.id), [1], "good/000: A 0.2 passes, B 0.7 flags")
        XCTAssertEqual(s.status, "1 images flagged by one model only")
        // B's threshold above both its scores: now the defect is the one they disagree on.
        s.comparison?.threshold = 0.85
        XCTAssertEqual(s.visibleRows.map(\.id), [2])
        s.comparison?.threshold = Double(Float(0.7))
        XCTAssertEqual(s.visibleRows.map(\.id), [1], "a score equal to the threshold is flagged, as the engine flags it")
        s.rows[1].manuallyFlagged = true
        XCTAssertEqual(s.visibleRows.map(\.id), [1], "a manual flag is the reviewer's, not a model's verdict")
        _ = s.handle(.char("D"))
        XCTAssertEqual(s.visibleRows.map(\.id), [2, 1])
    }

    func testOneModelIgnoresTheComparisonKeys() {
        var s = ConsoleStateTests.sample()
        let before = s.visibleRows
        for key in ["D", "M"] {
            XCTAssertNil(s.handle(.char(Character(key))))
            XCTAssertEqual(s.status, "one model open: --model A --model B compares two")
        }
        XCTAssertFalse(s.disagreementsOnly)
        XCTAssertEqual(s.thresholdFocus, .a)
        XCTAssertEqual(s.visibleRows, before)
    }

    func testThresholdKeysActOnTheModelMPicked() {
        var s = Self.scoredByBoth()
        s.storedThreshold = 0.4
        s.comparison?.storedThreshold = 0.6
        XCTAssertNil(s.handle(.char("]")))
        XCTAssertEqual(s.threshold, 0.5 + 0.1 * (Double(Float(0.9)) - Double(Float(0.2))), accuracy: 1e-12, "A's step is a tenth of A's score span")
        XCTAssertEqual(s.comparison?.threshold, 0.5)
        _ = s.handle(.char("M"))
        XCTAssertEqual(s.thresholdFocus, .b)
        XCTAssertEqual(s.status, "threshold keys act on model B (b)")
        let a = s.threshold
        XCTAssertNil(s.handle(.char("]")))
        XCTAssertEqual(s.comparison!.threshold, 0.5 + 0.1 * (Double(Float(0.8)) - Double(Float(0.7))), accuracy: 1e-12,
                       "B's step is a tenth of B's score span")
        XCTAssertEqual(s.threshold, a)
        XCTAssertNil(s.handle(.char("0")))
        XCTAssertEqual(s.comparison?.threshold, 0.6, "0 restores B's stored threshold")
        XCTAssertNil(s.handle(.char("-")))
        let b = s.comparison!.threshold
        XCTAssertEqual(s.handle(.char("s")), .saveThreshold(b, rule: .value(Float(b))))
        XCTAssertEqual(s.comparison?.storedThreshold, b)
        XCTAssertEqual(s.storedThreshold, 0.4)
        // The engine's answer goes to the model that was saved, B.
        _ = s.update(.engine(.thresholdSaved(value: b, saved: Threshold(choice: .manual, value: Float(b)), configFile: "b/config.json")))
        XCTAssertEqual(s.comparison?.savedThreshold, Threshold(choice: .manual, value: Float(b)))
        XCTAssertNil(s.savedThreshold)
        XCTAssertEqual(s.comparison?.thresholdOrigin, ThresholdOrigin(value: b, rule: .stored))
        // p: the 99th percentile of B's held-out normal scores (numpy's linear rule: 0.2 + 0.98 × 0.1).
        s.comparison?.heldOutNormalScores = [0.1, 0.2, 0.3]
        s.heldOutNormalScores = [5, 6, 7]
        XCTAssertNil(s.handle(.char("p")))
        XCTAssertEqual(s.comparison!.threshold, 0.298, accuracy: 1e-6)
        XCTAssertEqual(s.comparison?.thresholdOrigin?.rule, .percentile(99))
        XCTAssertEqual(s.status, "model B: 99th percentile of 3 held-out normal scores")
        XCTAssertEqual(s.threshold, a)
        _ = s.handle(.char("M"))
        XCTAssertEqual(s.handle(.char("s")), .saveThreshold(a, rule: .value(Float(a))))
    }

    func testAPressInEitherHistogramMovesThatModelsThreshold() throws {
        var s = Self.scoredByBoth()
        (s.screenWidth, s.screenHeight) = (120, 40)
        let content = ConsoleView.layout(width: 120, height: 40)[.threshold]!.inset(by: 1)
        let blocks = ThresholdPane().blocks(s, content: content)
        XCTAssertEqual(blocks.map(\.slot), [.a, .b])
        // The bottom row of each block is its histogram's axis; the row above it is a bar row.
        let bottomOfB = blocks[1].rect.maxY - 2, bottomOfA = blocks[0].rect.maxY - 2
        XCTAssertNil(s.handle(.mouse(MouseEvent(.press, x: content.maxX - 1, y: bottomOfB))))
        XCTAssertEqual(s.thresholdFocus, .b)
        XCTAssertGreaterThan(s.comparison!.threshold, Double(Float(0.79)), "the right end of B's histogram is near B's highest score")
        XCTAssertEqual(s.threshold, 0.5)
        XCTAssertNil(s.handle(.mouse(MouseEvent(.press, x: content.x, y: bottomOfA))))
        XCTAssertEqual(s.thresholdFocus, .a)
        XCTAssertLessThan(s.threshold, 0.3, "the left end of A's histogram is near A's lowest score")
    }
}

final class TwoModelViewTests: XCTestCase {
    private func render(_ s: ConsoleState, ascii: Bool = false, _ w: Int = 120, _ h: Int = 40) -> CellGrid {
        var s = s
        if ascii { s.colorDepth = .monochrome }
        return ConsoleView().render(s, RenderContext(theme: .builtin, colormap: .builtinJet), width: w, height: h)
    }

    private func find(_ text: String, in g: CellGrid) -> (x: Int, y: Int)? {
        for (y, row) in g.plainText().enumerated() {
            if let r = row.range(of: text) { return (row.distance(from: row.startIndex, to: r.lowerBound), y) }
        }
        return nil
    }

    static func state() -> ConsoleState {
        var s = TwoModelStateTests.scoredByBoth()
        s.groups = [DatasetGroup(split: "train", name: "good", count: 1), DatasetGroup(split: "test", name: "good", count: 1),
                    DatasetGroup(split: "test", name: "crack", count: 1)]
        s.scope = "test/"
        return s
    }

    func testListShowsBothScoresAndBothVerdicts() throws {
        var s = Self.state()
        s.threshold = 0.1
        s.comparison?.threshold = 0.75
        let g = render(s)
        let defect = try XCTUnwrap(find("crack/000.png", in: g))
        let row = g.plainText()[defect.y]
        XCTAssertTrue(row.contains("0.9     0.8 NG"), row)
        XCTAssertEqual(String(row.dropFirst(defect.x - 3).prefix(2)), "!!", "both flag the defect")
        let good = try XCTUnwrap(find("good/000.png", in: g))
        let goodRow = g.plainText()[good.y]
        XCTAssertTrue(goodRow.contains("0.2     0.7 ok"), goodRow)
        XCTAssertEqual(String(goodRow.dropFirst(good.x - 3).prefix(2)), "!·", "each at its own threshold: A (0.1) flags 0.2, B (0.75) passes 0.7")
        // "A" and "B" over the last digits of their score columns.
        let header = Array(g.plainText()[defect.y - 1]), cells = Array(row)
        let scores = try XCTUnwrap(row.range(of: "0.9     0.8"))
        let a = row.distance(from: row.startIndex, to: scores.lowerBound) + 2
        XCTAssertEqual([header[a], header[a + 8]], ["A", "B"], String(header))
        XCTAssertEqual([cells[a], cells[a + 8]], ["9", "8"])
    }

    func testSevenCharacterScoresStayApart() throws {
        var s = Self.state()
        s.rows[2].score = 0.177
        s.rows[2].scoreB = 0.00336
        let g = render(s)
        let row = g.plainText()[try XCTUnwrap(find("crack/000.png", in: g)).y]
        XCTAssertTrue(row.contains("0.177 0.00336 NG"), row)
    }

    func testDisagreementFilterIsNamedInTheListHeader() {
        var s = Self.state()
        _ = s.handle(.char("D"))
        let text = render(s).plainText().joined(separator: "\n")
        XCTAssertTrue(text.contains("─ 1 · by score · A≠B  A ───── B ─"), text)
        XCTAssertFalse(text.contains("crack/000.png    "), "the image both flag is not listed")
    }

    func testThresholdPaneShowsBothHistogramsWithTheirOwnThresholds() throws {
        var s = Self.state()
        s.comparison?.threshold = 0.75
        _ = s.handle(.char("M"))
        let g = render(s)
        let a = try XCTUnwrap(find(" A threshold 0.5  flagged 1/2", in: g))
        let b = try XCTUnwrap(find("▸B threshold 0.75  flagged 1/2", in: g))
        XCTAssertGreaterThan(b.y, a.y)
        let markers = g.plainText().enumerated().compactMap { y, line in line.contains("▲") ? y : nil }
        XCTAssertEqual(markers.count, 2, "one threshold marker per histogram")
        let pane = ConsoleView.layout(width: 120, height: 40)[.threshold]!.inset(by: 1)
        for (slot, rect) in ThresholdPane().blocks(s, content: pane) {
            let axis = rect.maxY - 1
            let histogram = ThresholdPane().histogram(s, slot)
            let column = histogram.bin(of: s.threshold(of: slot), count: rect.width)
            XCTAssertEqual(g[rect.x + column, axis].character, "▲", "model \(slot.rawValue)'s marker at its own threshold")
        }
    }

    /// The heatmaps of image 1: A's map 0.2 everywhere, B's 0.8, on the scale 0...1.
    static func inspectingHeatmaps(side: Int) -> ConsoleState {
        var s = state()
        s.inspectedID = 1
        s.inspected = InspectorImage(anomalyMap: ScalarMap(width: side, height: side, values: Array(repeating: 0.2, count: side * side)))
        s.comparison?.anomalyMaps[1] = ScalarMap(width: side, height: side, values: Array(repeating: 0.8, count: side * side))
        s.mapRange = 0...1
        s.inspectorView = .heatmap
        return s
    }

    /// A's map is 0.2 everywhere and B's 0.8, on the one scale 0...1: each half of the inspector shows its own
    /// model's colour, in half blocks and in ASCII.
    func testInspectorShowsBothHeatmapsSideBySideOnOneScale() throws {
        var s = Self.inspectingHeatmaps(side: 4)
        s.showOutlines = false  // B's whole map is over its threshold: its outline would frame it in red
        let pane = ConsoleView.layout(width: 120, height: 40)[.inspector]!.inset(by: 1)
        let middle = pane.x + (pane.width - 1) / 2
        let low = CellColor.rgb(Colormap.builtinJet.color(at: 0.2)), high = CellColor.rgb(Colormap.builtinJet.color(at: 0.8))
        let g = render(s)
        let blocks = (pane.y..<pane.maxY).flatMap { y in (pane.x..<pane.maxX).map { (x: $0, cell: g[$0, y]) } }.filter { $0.cell.character == "▀" }
        let left = blocks.filter { $0.x < middle }, right = blocks.filter { $0.x > middle }
        XCTAssertGreaterThan(left.count, 50)
        XCTAssertEqual(left.count, right.count, "both halves are the same size")
        XCTAssertTrue(left.allSatisfy { $0.cell.style.fg == low }, "A's heatmap on the left")
        XCTAssertTrue(right.allSatisfy { $0.cell.style.fg == high }, "B's heatmap on the right, on the same scale")
        XCTAssertNotNil(find("A m · passed", in: g))
        XCTAssertNotNil(find("B b · flagged", in: g))

        let ascii = render(s, ascii: true)
        let ramp = { (x: Double) in HeatmapRenderer.rampCharacter(x) }
        let chars = (pane.y + 2..<pane.maxY - 1).flatMap { y in (pane.x..<pane.maxX).map { (x: $0, c: ascii[$0, y].character) } }
            .filter { $0.c != " " && $0.c != "─" }
        XCTAssertTrue(chars.contains { $0.x < middle && $0.c == ramp(0.2) })
        XCTAssertTrue(chars.contains { $0.x > middle && $0.c == ramp(0.8) })
        XCTAssertFalse(chars.contains { $0.x > middle && $0.c == ramp(0.2) })
    }

    /// With a graphics protocol the two views are one image over both halves (the placer shows one image).
    func testPlacedImageHoldsBothModelsViews() throws {
        var s = Self.inspectingHeatmaps(side: 2)
        let ctx = RenderContext(theme: .builtin, colormap: .builtinJet, pixelGraphics: true)
        let area = Rect(x: 10, y: 2, width: 21, height: 6)
        let cell = CellPixels(width: 8, height: 16)!
        let placed = try XCTUnwrap(InspectorPane.placedImages(s.inspected!, s, ctx, area: area, cell: cell, background: RGB(1, 2, 3)))
        XCTAssertEqual(placed.image.width, placed.cells.width * 8)
        XCTAssertEqual(placed.image.height, placed.cells.height * 16)
        XCTAssertLessThan(placed.cells.x, area.x + 10, "starts in the left half")
        XCTAssertGreaterThan(placed.cells.maxX, area.x + 11, "ends in the right half")
        let row = placed.image.height / 2
        XCTAssertEqual(placed.image[2, row], Colormap.builtinJet.color(at: 0.2))
        XCTAssertEqual(placed.image[placed.image.width - 3, row], Colormap.builtinJet.color(at: 0.8))
        s.comparison = nil
        let one = try XCTUnwrap(InspectorPane.placedImages(s.inspected!, s, ctx, area: area, cell: cell, background: RGB(1, 2, 3)))
        XCTAssertEqual(one, InspectorPane.placedImage(s.inspected!, s, ctx, area: area, cell: cell, background: RGB(1, 2, 3)),
                       "one model: the image as before")
    }
}
