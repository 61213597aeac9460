import XCTest
@testable import Console
@testable import Detection

/// The threshold keys ask the engine's rules through the console's update: `r` (no escapes) sets the
/// lowest defective score and says what it costs, the pane shows recall per defect type, and while
/// watching every change of the threshold goes to the watcher as a command.
final class ThresholdRulesTests: XCTestCase {
    /// Three good, two crack, one hole. F1 is best at 0.8 (tp 2, fn 1); no escapes is 0.4 (tp 3, fp 2, tn 1).
    static func labelled() -> ConsoleState {
        var s = ConsoleState()
        s.modelPath = "/model"
        s.heldOutNormalScores = [0.1, 0.2, 0.3]
        s.rows = [("good", 0.2), ("good", 0.6), ("good", 0.7), ("crack", 0.9), ("crack", 0.4), ("hole", 0.8)].enumerated().map { i, r in
            ImageRow(id: i, name: "test/\(r.0)/00\(i).png", score: r.1, label: r.0 == "good" ? .normal : .defective, defectType: r.0)
        }
        s.threshold = 0.85
        return s
    }

    static func text(_ s: ConsoleState, width: Int = 120, height: Int = 30) -> String {
        ConsoleView().render(s, RenderContext(theme: .builtin, colormap: .builtinJet), width: width, height: height)
            .plainText().joined(separator: "\n")
    }

    func testNoEscapeKeySetsRecallOneAndSaysWhatItCosts() {
        var s = Self.labelled()
        XCTAssertEqual(s.update(.key(.char("r"))), [])
        XCTAssertEqual(s.threshold, Double(Float(0.4)))
        XCTAssertEqual(s.thresholdOrigin?.rule, .noEscape)
        XCTAssertEqual(s.currentThresholdRule, .noEscape, "saved as chosen by the no-escape rule")
        XCTAssertEqual(s.status, "no escapes: 0.4 flags all 3 defective images; precision 0.6, false alarms 2 of 3 good (66.7 %)")
        XCTAssertEqual(s.recallByType.map(\.flagged), [2, 1])

        _ = s.update(.key(.char("f")))
        XCTAssertEqual(s.threshold, Double(Float(0.8)), "F1 is a different rule on this set")
        XCTAssertEqual(s.recallByType, [TypeRecall(type: "crack", flagged: 1, total: 2), TypeRecall(type: "hole", flagged: 1, total: 1)])
    }

    func testNoEscapeWithOnlyGoodImagesFallsBackAndSaysSo() {
        var s = Self.labelled()
        s.rows = s.rows.filter { $0.label == .normal }
        _ = s.update(.key(.char("r")))
        XCTAssertEqual(s.threshold, Double(try percentileThreshold(normalScores: [0.1, 0.2, 0.3], percentile: 99).value))
        XCTAssertEqual(s.status, ThresholdRule.noEscape.fallbackNote(labelled: s.labelledScores))
        s.modelPath = nil
        _ = s.update(.key(.char("r")))
        XCTAssertEqual(s.status, "no model open")
    }

    func testThresholdPaneShowsFalseAlarmsAndRecallByTypeAtTheThresholdInForce() {
        var s = Self.labelled()
        var text = Self.text(s)
        XCTAssertTrue(text.contains("R 0.333  F1 0.5  false alarms 0/3"), text)
        XCTAssertTrue(text.contains("recall by type:  crack 1/2  hole 0/1"), text)
        _ = s.update(.key(.char("r")))
        text = Self.text(s)
        XCTAssertTrue(text.contains("false alarms 2/3"), text)
        XCTAssertTrue(text.contains("recall by type:  crack 2/2  hole 1/1"), text)
        XCTAssertTrue(Keymap.standard.bindings.contains { $0.keys == [.char("r")] && $0.action == .thresholdNoEscape })
    }

    func testThresholdChangesWhileWatchingGoToTheWatcherAndRecolourTheList() {
        var s = LiveWatchTests.watching(bell: false)
        s.modelPath = "/model"
        _ = s.update(.engine(.watched(LiveWatchTests.record("/line/a.png", score: 0.25, verdict: .ok), map: LiveWatchTests.map)))
        _ = s.update(.engine(.watched(LiveWatchTests.record("/line/b.png", score: 0.5, verdict: .flagged), map: LiveWatchTests.map)))
        XCTAssertTrue(Self.text(s).contains("! live/line/b.png"))
        XCTAssertEqual(s.update(.key(.char("+"))), [.watchThreshold(0.5025)], "a fine step of the 0.25 score span")
        XCTAssertTrue(Self.text(s).contains("  live/line/b.png"), "no longer flagged at the new threshold")
        XCTAssertEqual(s.update(.key(.char("j"))), [], "keys that leave the threshold alone send nothing")
        let stored = Threshold(choice: .percentile(99), value: 0.375)
        XCTAssertEqual(s.update(.engine(.modelLoaded(generation: 0, threshold: stored, normalScores: []))), [.watchThreshold(0.375)])
        XCTAssertEqual(s.update(.key(.char("s"))), [.saveThreshold(0.375, rule: .stored)])

        var notWatching = Self.labelled()
        XCTAssertEqual(notWatching.update(.key(.char("+"))), [])
    }
}
