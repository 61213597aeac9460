import Foundation
import XCTest
@testable import Detection

/// The held-out split: which normal images select the epoch and set the threshold.
final class HeldOutSplitTests: XCTestCase {
    func testFractionIsRoundedAndBothSidesPartitionTheImages() {
        for (count, fraction, held) in [(10, 0.2, 2), (6, 0.2, 1), (239, 0.2, 48), (7, 0.5, 4), (10, 0, 0)] {
            let (train, validation) = TrainingData.split(count: count, fraction: fraction, seed: 0)
            XCTAssertEqual(validation.count, held, "\(count) images, fraction \(fraction)")
            XCTAssertEqual(train.count, count - held)
            XCTAssertTrue(Set(train).isDisjoint(with: validation))
            XCTAssertEqual((train + validation).sorted(), Array(0..<count))
            XCTAssertEqual(train, train.sorted())
            XCTAssertEqual(validation, validation.sorted())
        }
    }

    /// Any nonzero fraction holds out at least one image and trains on at least one.
    func testNonzeroFractionIsClampedToLeaveBothSides() {
        XCTAssertEqual(TrainingData.split(count: 10, fraction: 0.01, seed: 0).validation.count, 1)
        XCTAssertEqual(TrainingData.split(count: 10, fraction: 0.99, seed: 0).validation.count, 9)
        XCTAssertEqual(TrainingData.split(count: 2, fraction: 0.9, seed: 0).validation.count, 1)
        XCTAssertEqual(TrainingData.split(count: 2, fraction: 0.1, seed: 0).validation.count, 1)
    }

    func testSameSeedSameSplitAndSeedsDiffer() {
        let a = TrainingData.split(count: 50, fraction: 0.2, seed: 7)
        let b = TrainingData.split(count: 50, fraction: 0.2, seed: 7)
        XCTAssertEqual(a.train, b.train)
        XCTAssertEqual(a.validation, b.validation)
        let others = Set((0..<8).map { TrainingData.split(count: 50, fraction: 0.2, seed: $0).validation })
        XCTAssertEqual(others.count, 8, "eight seeds, eight different held-out sets")
        // Not simply the first or last images.
        XCTAssertNotEqual(a.validation, Array(0..<10))
        XCTAssertNotEqual(a.validation, Array(40..<50))
    }
}
