import Foundation
import XCTest
import Numerics
@testable import Detection

final class ThresholdsTests: XCTestCase {
    func testF1PicksTheBestDistinctScore() throws {
        // Thresholds 0.9, 0.8, 0.7, 0.6, 0.1 give F1 1/2, 4/5, 2/3, 6/7, 3/4.
        let scores: [Float] = [0.9, 0.8, 0.7, 0.6, 0.1]
        let labels = [true, true, false, true, false]
        let threshold = try f1OptimalThreshold(scores: scores, labels: labels)
        XCTAssertEqual(threshold, Threshold(choice: .f1, value: 0.6))
        let summary = ConfusionSummary(scores: scores, labels: labels, threshold: threshold.value)
        XCTAssertEqual(summary, ConfusionSummary(tp: 3, fp: 1, tn: 1, fn: 0))
        XCTAssertEqual(summary.precision, 0.75)
        XCTAssertEqual(summary.recall, 1)
        XCTAssertEqual(summary.f1!, 6.0 / 7, accuracy: 1e-15)
    }

    func testF1PrefersTheHigherOfEqualThresholds() throws {
        // 0.8 and 0.35 both reach F1 2/3.
        let threshold = try f1OptimalThreshold(scores: [0.1, 0.4, 0.35, 0.8, 0.7], labels: [false, false, true, true, false])
        XCTAssertEqual(threshold.value, 0.8)
    }

    func testF1FlagsTiedScoresTogether() throws {
        // At 0.5 both tied images are flagged (F1 2/3); no threshold separates them.
        let threshold = try f1OptimalThreshold(scores: [0.5, 0.5, 0.2], labels: [true, false, false])
        XCTAssertEqual(threshold.value, 0.5)
        XCTAssertEqual(ConfusionSummary(scores: [0.5, 0.5, 0.2], labels: [true, false, false], threshold: 0.5).fp, 1)
    }

    func testF1IsTheBestOverAllCandidates() throws {
        var generator = SplitMix64(seed: 3)
        for _ in 0..<20 {
            let scores = (0..<30).map { _ in Float(generator.next() % 10) }
            let labels = scores.map { $0 + Float(generator.next() % 6) > 8 }
            guard labels.contains(true) else { continue }
            let best = Set(scores).map { ConfusionSummary(scores: scores, labels: labels, threshold: $0).f1! }.max()!
            let chosen = try f1OptimalThreshold(scores: scores, labels: labels)
            XCTAssertEqual(ConfusionSummary(scores: scores, labels: labels, threshold: chosen.value).f1!, best, accuracy: 1e-12)
        }
    }

    func testF1NeedsADefectiveSample() {
        XCTAssertThrowsError(try f1OptimalThreshold(scores: [0.1, 0.2], labels: [false, false])) {
            XCTAssertEqual($0 as? ThresholdError, .noDefectiveSamples)
        }
        XCTAssertThrowsError(try f1OptimalThreshold(scores: [], labels: [])) { XCTAssertEqual($0 as? ThresholdError, .noScores) }
        XCTAssertThrowsError(try f1OptimalThreshold(scores: [0.1], labels: [true, false]))
        XCTAssertThrowsError(try f1OptimalThreshold(scores: [.nan, 1], labels: [true, false]))
    }

    func testPercentileInterpolatesLikeNumpy() throws {
        // numpy.percentile: [1,2,3,4] at 99 -> 3.97, at 0 -> 1, at 100 -> 4; [0,10] at 25 -> 2.5; the 5-value case -> 0.82.
        XCTAssertEqual(try percentileThreshold(normalScores: [4, 1, 3, 2]).value, 3.97, accuracy: 1e-6)
        XCTAssertEqual(try percentileThreshold(normalScores: [4, 1, 3, 2], percentile: 0).value, 1)
        XCTAssertEqual(try percentileThreshold(normalScores: [4, 1, 3, 2], percentile: 100).value, 4)
        XCTAssertEqual(try percentileThreshold(normalScores: [10, 0], percentile: 25).value, 2.5)
        XCTAssertEqual(try percentileThreshold(normalScores: [0.1, 0.7, 0.2, 0.3, 0.9], percentile: 90).value, 0.82, accuracy: 1e-6)
        XCTAssertEqual(try percentileThreshold(normalScores: [7]).value, 7)
        XCTAssertEqual(try percentileThreshold(normalScores: [1, 2], percentile: 95).choice, .percentile(95))
    }

    func testPercentileRejectsBadInput() {
        XCTAssertThrowsError(try percentileThreshold(normalScores: [])) { XCTAssertEqual($0 as? ThresholdError, .noScores) }
        XCTAssertThrowsError(try percentileThreshold(normalScores: [1], percentile: 101)) {
            XCTAssertEqual($0 as? ThresholdError, .percentileOutOfRange(101))
        }
    }

    func testFlaggingIsInclusive() {
        let threshold = manualThreshold(0.5)
        XCTAssertEqual(threshold.choice, .manual)
        XCTAssertTrue(threshold.flags(0.5))
        XCTAssertFalse(threshold.flags(0.49))
    }

    func testConfusionSummaryWithNothingFlagged() {
        let summary = ConfusionSummary(scores: [0.1, 0.2], labels: [true, false], threshold: 1)
        XCTAssertEqual(summary, ConfusionSummary(tp: 0, fp: 0, tn: 1, fn: 1))
        XCTAssertNil(summary.precision, "nothing flagged: precision is undefined")
        XCTAssertEqual(summary.recall, 0)
        XCTAssertEqual(summary.f1, 0)
        XCTAssertNil(ConfusionSummary([], threshold: 0).f1)
    }

    func testCodableRoundTripAndReadableJSON() throws {
        for threshold in [Threshold(choice: .f1, value: 0.25), Threshold(choice: .percentile(99.5), value: 1.5), manualThreshold(3)] {
            let data = try JSONEncoder().encode(threshold)
            XCTAssertEqual(try JSONDecoder().decode(Threshold.self, from: data), threshold)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(Threshold(choice: .percentile(99), value: 0.5)), as: UTF8.self)
        XCTAssertEqual(json, #"{"choice":{"method":"percentile","percentile":99},"value":0.5}"#)
        XCTAssertThrowsError(try JSONDecoder().decode(ThresholdChoice.self, from: Data(#"{"method":"median"}"#.utf8)))
    }
}
