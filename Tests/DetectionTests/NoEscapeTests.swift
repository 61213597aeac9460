import XCTest
@testable import Detection

final class NoEscapeTests: XCTestCase {
    func testTheLowestDefectiveScoreFlagsEveryDefectAndCostsTheGoodImagesAboveIt() throws {
        let scores: [Float] = [0.1, 0.5, 0.3, 0.9, 0.4, 0.35, 0.2]
        let labels = [false, false, true, true, true, false, false]
        let rule = try noEscapeThreshold(scores: scores, labels: labels)
        XCTAssertEqual(rule.threshold, Threshold(choice: .noEscape, value: 0.3))
        XCTAssertEqual(rule.confusion, ConfusionSummary(tp: 3, fp: 2, tn: 2, fn: 0))
        XCTAssertEqual(rule.confusion.recall, 1)
        XCTAssertEqual(try XCTUnwrap(rule.confusion.precision), 0.6, accuracy: 1e-12)
        XCTAssertEqual(rule.falseAlarmRate, 0.5)
        // Any higher threshold lets a defect through.
        XCTAssertLessThan(try XCTUnwrap(ConfusionSummary(scores: scores, labels: labels, threshold: rule.threshold.value.nextUp).recall), 1)
    }

    func testTiesAtTheLowestDefectiveScoreAreFlaggedToo() throws {
        let rule = try noEscapeThreshold(scores: [0.3, 0.3, 0.8], labels: [false, true, true])
        XCTAssertEqual(rule.threshold.value, 0.3)
        XCTAssertEqual(rule.confusion.fp, 1)
    }

    func testWithoutDefectiveImagesItIsUndefined() {
        XCTAssertThrowsError(try noEscapeThreshold(scores: [0.1, 0.2], labels: [false, false])) {
            XCTAssertEqual($0 as? ThresholdError, .noDefectiveSamples)
        }
        XCTAssertThrowsError(try noEscapeThreshold(scores: [], labels: [])) { XCTAssertEqual($0 as? ThresholdError, .noScores) }
        XCTAssertThrowsError(try noEscapeThreshold(scores: [.nan], labels: [true])) { XCTAssertEqual($0 as? ThresholdError, .nonFiniteScore) }
    }

    func testRecallPerDefectType() {
        let recalls = recallByType(types: ["good", "cut", "hole", "cut", "hole", "hole"], scores: [0.9, 0.5, 0.1, 0.2, 0.6, 0.7],
                                   labels: [false, true, true, true, true, true], threshold: 0.4)
        XCTAssertEqual(recalls, [TypeRecall(type: "cut", flagged: 1, total: 2), TypeRecall(type: "hole", flagged: 2, total: 3)])
    }

    func testTheChoiceIsStoredReadably() throws {
        let data = try JSONEncoder().encode(Threshold(choice: .noEscape, value: 0.25))
        XCTAssertEqual(String(decoding: data, as: UTF8.self).contains("\"no-escape\""), true)
        XCTAssertEqual(try JSONDecoder().decode(Threshold.self, from: data), Threshold(choice: .noEscape, value: 0.25))
    }

    /// Only good images labelled: F1 and no-escape say so and use the percentile rule, never the lowest score.
    func testRulesFallBackToThePercentileWithOnlyGoodImages() throws {
        let inspection = Inspection(model: try SyntheticSet.model())
        let all = try inspection.score(MVTecDataset(root: SyntheticSet.data).test)
        let good = all.filter { !$0.isDefective }
        let percentile = try inspection.threshold(.percentile(ThresholdRule.fallbackPercentile))
        for rule in [ThresholdRule.f1, .noEscape] {
            XCTAssertEqual(try inspection.threshold(rule, labelled: good), percentile)
            XCTAssertNotNil(rule.fallbackNote(labelled: good.map(\.labelled)))
        }
        XCTAssertNil(ThresholdRule.noEscape.fallbackNote(labelled: all.map(\.labelled)))
        let noEscape = try inspection.threshold(.noEscape, labelled: all)
        XCTAssertEqual(noEscape.value, all.filter(\.isDefective).map(\.score).min())
    }
}
