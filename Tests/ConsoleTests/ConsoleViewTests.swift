import XCTest
@testable import Console

final class ConsoleViewTests: XCTestCase {
    private let ctx = RenderContext(theme: .builtin, colormap: .builtinJet)

    private func render(_ s: ConsoleState, _ w: Int = 100, _ h: Int = 30) -> CellGrid {
        ConsoleView().render(s, ctx, width: w, height: h)
    }

    private func find(_ text: String, in g: CellGrid) -> (x: Int, y: Int)? {
        for (y, row) in g.plainText().enumerated() {
            if let r = row.range(of: text) { return (row.distance(from: row.startIndex, to: r.lowerBound), y) }
        }
        return nil
    }

    func testPanesFramesTitlesAndFocus() throws {
        var s = ConsoleStateTests.sample()
        let g = render(s)
        for title in ["¹dataset", "²training", "³inspector", "⁴threshold"] { XCTAssertNotNil(find(title, in: g), title) }
        XCTAssertEqual(g[0, 0].style.fg, Theme.builtin[.focusLine])
        s.focus = .threshold
        let g2 = render(s)
        XCTAssertEqual(g2[0, 0].style.fg, Theme.builtin[.divLine])
        let thr = try XCTUnwrap(find("⁴threshold", in: g2))
        XCTAssertEqual(g2[thr.x - 2, thr.y].style.fg, Theme.builtin[.focusLine])
    }

    func testDatasetTreeAndListRows() throws {
        let g = render(ConsoleStateTests.sample())
        XCTAssertNotNil(find("train/ 209", in: g))
        XCTAssertNotNil(find("  crack 2", in: g))
        let top = try XCTUnwrap(find("test/crack/000.png", in: g))
        let row = g.plainText()[top.y]
        XCTAssertTrue(row.contains("0.9 NG"), row)
        XCTAssertEqual(g[top.x - 2, top.y].character, "!", "score 0.9 ≥ threshold 0.5 is flagged")
        XCTAssertEqual(g[top.x, top.y].style, Theme.builtin.selectedStyle, "first row selected and focused")
    }

    func testHintLineFollowsFocusedPane() {
        var s = ConsoleStateTests.sample()
        let last = { (g: CellGrid) in g.plainText().last! }
        XCTAssertTrue(last(render(s)).hasPrefix(" j move  Enter inspect  / filter"))
        s.focus = .training
        XCTAssertTrue(last(render(s)).hasPrefix(" Enter start  Space pause  x stop  l log"))
        s.isEditingFilter = true; s.focus = .dataset
        XCTAssertTrue(last(render(s)).contains("Esc clear filter"))
    }

    func testThresholdPaneShowsCountsMetricsAndMovesMarker() throws {
        var s = ConsoleStateTests.sample()
        s.threshold = 0.5
        var g = render(s)
        XCTAssertNotNil(find("threshold 0.5  flagged 2/4", in: g))
        XCTAssertNotNil(find("P 0.5  R 0.5  F1 0.5", in: g))
        let before = try XCTUnwrap(find("▲", in: g))
        s.threshold = 0.8
        g = render(s)
        XCTAssertNotNil(find("flagged 1/4", in: g))
        let after = try XCTUnwrap(find("▲", in: g))
        XCTAssertGreaterThan(after.x, before.x)
        XCTAssertEqual(after.y, before.y)
    }

    func testInspectorDrawsHalfBlocksOfTheSelectedView() throws {
        var s = ConsoleStateTests.sample()
        let red = RGB(255, 0, 0)
        s.inspected = InspectorImage(image: PixelImage(width: 4, height: 4, pixels: Array(repeating: red, count: 16)))
        s.inspectedID = 3
        s.inspectorView = .image
        XCTAssertNotNil(find("test/crack/000.png · score 0.9 · image · direct", in: render(s, 140, 30)))
        let g = render(s)
        XCTAssertNotNil(find("test/crack/000.png 0.9 image direct", in: g), "a narrow pane drops the labels before the name")
        let blocks = g.cells.filter { $0.character == "▀" && $0.style.fg == .rgb(red) && $0.style.bg == .rgb(red) }
        XCTAssertGreaterThan(blocks.count, 50, "a 4×4 image is zoomed to fit the pane")
        s.inspectorView = .heatmap
        XCTAssertNotNil(find("no heatmap for this image", in: render(s)))
    }

    func testTrainingPaneStatusAndCurves() {
        var s = ConsoleStateTests.sample()
        s.training.phase = .running
        s.training.epoch = 2; s.training.totalEpochs = 10; s.training.step = 40; s.training.totalSteps = 200
        s.training.imagesPerSecond = 31.5; s.training.etaSeconds = 95
        s.training.totalLoss = (0..<40).map { ChartPoint(x: Double($0), y: 3 / Double($0 + 1)) }
        s.training.heldOutScores = [ChartPoint(x: 1, y: 0.42)]
        let g = render(s)
        XCTAssertNotNil(find("running  epoch 2/10", in: g))
        XCTAssertNotNil(find("step 40/200  31.5 img/s", in: g))
        XCTAssertNotNil(find("ETA 1:35", in: g))
        XCTAssertNotNil(find("held-out normal: 0.42   [log]", in: g))
        XCTAssertTrue(g.cells.contains { ($0.character.unicodeScalars.first!.value & 0xFF00) == 0x2800 && $0.style.fg == Theme.builtin[.total] })
    }

    // A run that has started but logged no step yet must already name its curves, so the pane is not blank
    // while the teacher features are cached (the e2e check cannot pin this order: a fast first step races the capture).
    func testTrainingPaneNamesEveryLevelBeforeAnyPoint() throws {
        var s = ConsoleStateTests.sample()
        s.training = TrainingStatus()
        s.training.phase = .running
        s.training.totalEpochs = 40; s.training.totalSteps = 3
        let g = render(s)
        let legend = try XCTUnwrap(find("level1", in: g))
        let row = g.plainText()[legend.y]
        XCTAssertNotNil(row.range(of: "level1  ━ level2  ━ level3  ━ total"), row)
        XCTAssertNotNil(find("no data yet", in: g))
        XCTAssertFalse(g.cells.contains { ($0.character.unicodeScalars.first!.value & 0xFF00) == 0x2800 })
    }

    func testHelpOverlayListsEveryBindingAndDialogsShowDefault() {
        var s = ConsoleStateTests.sample()
        s.overlay = .help
        let g = render(s, 100, 30)
        let text = g.plainText().joined(separator: "\n")
        for b in Keymap.standard.bindings {
            XCTAssertTrue(text.contains(b.keyLabel), "help lacks \(b.keyLabel)")
        }
        XCTAssertTrue(text.contains("Export flagged images (asks first)"))
        s.overlay = .confirm(.export(count: 2, destination: "out/x"))
        let d = render(s).plainText().joined(separator: "\n")
        XCTAssertTrue(d.contains("Export 2 flagged images?"))
        XCTAssertTrue(d.contains("to out/x"))
        XCTAssertTrue(d.contains("y yes    N/Enter/Esc no"))
    }

    func testTooSmallTerminalAsksToEnlarge() {
        let g = render(ConsoleStateTests.sample(), 60, 20)
        let text = g.plainText().joined(separator: "\n")
        XCTAssertTrue(text.contains("Terminal is 60×20."))
        XCTAssertTrue(text.contains("enlarge the terminal"))
        XCTAssertFalse(text.contains("dataset"))
    }

    func testAsciiModeRendersWithoutColour() {
        var s = ConsoleStateTests.sample()
        s.colorDepth = .monochrome
        s.inspected = InspectorImage(anomalyMap: ScalarMap(width: 2, height: 2, values: [0, 0.3, 0.6, 1]))
        s.inspectedID = 1
        s.inspectorView = .heatmap
        let g = render(s)
        XCTAssertFalse(g.cells.contains { $0.character == "▀" })
        XCTAssertNotNil(find("@@@", in: g))
    }
}
