import XCTest
@testable import Console
import Detection

final class ConsoleStateTests: XCTestCase {
    static func sample() -> ConsoleState {
        var s = ConsoleState()
        s.groups = [DatasetGroup(split: "train", name: "good", count: 209),
                    DatasetGroup(split: "test", name: "good", count: 2), DatasetGroup(split: "test", name: "crack", count: 2)]
        s.rows = [
            ImageRow(id: 1, name: "test/good/000.png", score: 0.2, label: .normal),
            ImageRow(id: 2, name: "test/good/001.png", score: 0.6, label: .normal),
            ImageRow(id: 3, name: "test/crack/000.png", score: 0.9, label: .defective),
            ImageRow(id: 4, name: "test/crack/001.png", score: 0.4, label: .defective),
        ]
        return s
    }

    func testSortFilterAndNavigation() {
        var s = Self.sample()
        XCTAssertEqual(s.visibleRows.map(\.id), [3, 2, 4, 1], "highest score first")
        XCTAssertNil(s.handle(.char("j")))
        XCTAssertNil(s.handle(.down))
        XCTAssertEqual(s.selectedRow?.id, 4)
        _ = s.handle(.char("G")); XCTAssertEqual(s.selectedRow?.id, 1)
        _ = s.handle(.char("g")); XCTAssertEqual(s.selectedRow?.id, 3)
        _ = s.handle(.char("o")); XCTAssertEqual(s.visibleRows.map(\.id), [3, 4, 1, 2])
        for k: Key in [.char("/"), .char("c"), .char("r"), .char("x"), .backspace] { _ = s.handle(k) }
        XCTAssertTrue(s.isEditingFilter)
        XCTAssertEqual(s.filter, "cr")
        XCTAssertNil(s.handle(.char("q")), "q types into the filter instead of quitting")
        XCTAssertEqual(s.filter, "crq")
        _ = s.handle(.backspace); _ = s.handle(.enter)
        XCTAssertEqual(s.visibleRows.map(\.id), [3, 4])
        _ = s.handle(.escape)
        XCTAssertEqual(s.filter, "")
    }

    func testEnterOpensInspectorAndInspectorFollowsSelection() {
        var s = Self.sample()
        XCTAssertEqual(s.handle(.enter), .inspect(imageID: 3))
        XCTAssertEqual(s.focus, .inspector)
        XCTAssertEqual(s.handle(.char("j")), .inspect(imageID: 2))
        XCTAssertEqual(s.handle(.char("k")), .inspect(imageID: 3))
        XCTAssertNil(s.handle(.char("k")), "already at the top")
    }

    func testFocusCycleAndDigits() {
        var s = Self.sample()
        _ = s.handle(.tab); XCTAssertEqual(s.focus, .training)
        _ = s.handle(.backTab); _ = s.handle(.backTab); XCTAssertEqual(s.focus, .threshold)
        _ = s.handle(.char("3")); XCTAssertEqual(s.focus, .inspector)
    }

    func testThresholdStepsAreFractionsOfScoreSpan() {
        var s = Self.sample()
        s.threshold = 0.5
        s.storedThreshold = 0.3
        _ = s.handle(.char("+")); XCTAssertEqual(s.threshold, 0.507, accuracy: 1e-9)
        _ = s.handle(.char("[")); XCTAssertEqual(s.threshold, 0.437, accuracy: 1e-9)
        guard case let .saveThreshold(saved, rule) = s.handle(.char("s")) else { return XCTFail("s must save the threshold") }
        XCTAssertEqual(saved, 0.437, accuracy: 1e-9, "the threshold in force, not the stored 0.3")
        XCTAssertEqual(rule, .value(Float(saved)), "a nudged threshold is saved as a plain value")
        s.threshold = 0.1
        _ = s.handle(.char("0")); XCTAssertEqual(s.threshold, 0.437, accuracy: 1e-9)
    }

    func testSpaceFlagsInListButPausesInTrainingPane() {
        var s = Self.sample()
        s.threshold = 0.95
        _ = s.handle(.char(" "))
        XCTAssertEqual(s.flaggedRows.map(\.id), [3])
        s.training.phase = .running
        _ = s.handle(.char("2"))
        XCTAssertEqual(s.handle(.char(" ")), .pauseTraining)
        XCTAssertEqual(s.flaggedRows.map(\.id), [3])
    }

    func testExportNeedsExplicitYes() {
        var s = Self.sample()
        s.threshold = 0.5
        XCTAssertNil(s.handle(.char("e")))
        XCTAssertEqual(s.overlay, .confirm(.export(count: 2, destination: "stpm-export")))
        XCTAssertNil(s.handle(.enter), "Enter takes the default, No")
        XCTAssertNil(s.overlay)
        _ = s.handle(.char("e"))
        XCTAssertNil(s.handle(.char("j")), "other keys do nothing while asking")
        s.modelPath = "model"
        XCTAssertEqual(s.handle(.char("y")), .exportFlagged(imageIDs: [2, 3]))
    }

    func testQuitAsksWhileTrainingAndCtrlCAlwaysQuits() {
        var s = Self.sample()
        _ = s.handle(.char("?")); XCTAssertEqual(s.overlay, .help)
        XCTAssertNil(s.handle(.char("q"))); XCTAssertNil(s.overlay, "q closes the overlay first")
        s.training.phase = .running
        XCTAssertNil(s.handle(.char("q")))
        XCTAssertEqual(s.overlay, .confirm(.quitWhileTraining))
        XCTAssertEqual(s.handle(.char("y")), .quit)
        var t = Self.sample()
        t.overlay = .help
        XCTAssertEqual(t.handle(.ctrlC), .quit)
        XCTAssertTrue(t.shouldQuit)
    }

    func testColorDepthCycleStaysWithinTerminal() {
        var s = Self.sample()
        s.focus = .inspector
        s.maximumColorDepth = .xterm256; s.colorDepth = .xterm256
        var seen: [ColorDepth] = []
        for _ in 0..<4 { _ = s.handle(.char("d")); seen.append(s.colorDepth) }
        XCTAssertEqual(seen, [.ansi16, .ansi8, .monochrome, .xterm256])
    }

    func testConfusionCountsOverLabelledRows() {
        let st = ConfusionSummary(Self.sample().labelledScores, threshold: 0.5)
        XCTAssertEqual([st.tp, st.fp, st.fn, st.tn], [1, 1, 1, 1])
        XCTAssertEqual(st.f1, 0.5)
        XCTAssertNil(ConfusionSummary(ConsoleState().labelledScores, threshold: 0).precision)
    }
}

final class KeymapTests: XCTestCase {
    func testEveryActionHasAKeyAndNoKeyIsAmbiguousInAPane() {
        let km = Keymap.standard
        for pane in PaneID.allCases {
            var seen: [Key: Int] = [:]
            for b in km.bindings where b.scope != .global && b.scope.includes(pane) { for k in b.keys { seen[k, default: 0] += 1 } }
            XCTAssertTrue(seen.values.allSatisfy { $0 == 1 }, "pane \(pane) binds a key twice: \(seen.filter { $0.value > 1 })")
        }
        var global: [Key: Int] = [:]
        for b in km.bindings where b.scope == .global { for k in b.keys { global[k, default: 0] += 1 } }
        XCTAssertTrue(global.values.allSatisfy { $0 == 1 })
        XCTAssertEqual(km.action(for: .function(1), focus: .training), .help)
        XCTAssertEqual(km.action(for: .char(" "), focus: .training), .pauseTraining)
        XCTAssertEqual(km.action(for: .char(" "), focus: .dataset), .toggleFlag)
        XCTAssertNil(km.action(for: .char(" "), focus: .threshold))
    }

    func testHintsPutFocusedPaneFirst() {
        let hints = Keymap.standard.hints(for: .training).compactMap(\.hint)
        XCTAssertEqual(Array(hints.prefix(4)), ["start", "pause", "stop", "log"])
        XCTAssertFalse(hints.contains("inspect"))
        XCTAssertTrue(hints.contains("help"))
    }
}
