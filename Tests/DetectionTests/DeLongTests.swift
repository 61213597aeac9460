import XCTest
@testable import Detection

/// Reference values from scripts/delong_reference.py (fast DeLong of Sun & Xu with numpy/scipy), same inputs.
final class DeLongTests: XCTestCase {
    struct Case {
        var labels: [Bool], a: [Float], b: [Float]
        var aucA, aucB, variance, z, p: Double
    }

    static let cases: [Case] = {
        let small = Case(labels: [1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0].map { $0 == 1 },
                         a: [0.9, 0.8, 0.8, 0.4, 0.3, 0.8, 0.5, 0.4, 0.4, 0.2, 0.1, 0.1],
                         b: [0.7, 0.9, 0.6, 0.6, 0.2, 0.6, 0.3, 0.5, 0.1, 0.2, 0.2, 0.0],
                         aucA: 0.7714285714285714, aucB: 0.8571428571428572, variance: 0.008333333333333335,
                         z: 0.9389529557231434, p: 0.3477548985675135)
        func formula(_ n: Int, a: (Int, Int) -> Int, b: (Int, Int) -> Int) -> ([Bool], [Float], [Float]) {
            let flag = (0..<n).map { $0 % 3 == 0 ? 1 : 0 }
            return (flag.map { $0 == 1 }, (0..<n).map { Float(a($0, flag[$0])) / 100 }, (0..<n).map { Float(b($0, flag[$0])) / 100 })
        }
        let (l60, a60, b60) = formula(60, a: { i, f in (i * 37) % 101 + 30 * f }, b: { i, f in (i * 53) % 89 + 25 * f })
        let (l300, a300, b300) = formula(300, a: { i, _ in (i * 37) % 101 }, b: { i, f in (i * 53) % 17 + 15 * f })
        return [small,
                Case(labels: l60, a: a60, b: b60, aucA: 0.7550000000000001, aucB: 0.71, variance: 0.008899443319838055,
                     z: -0.4770139644502483, p: 0.6333521777745392),
                Case(labels: l300, a: a300, b: b300, aucA: 0.4955, aucB: 0.99295, variance: 0.0012449217554946455,
                     z: 14.098678492697083, p: 3.869479607078511e-45)]
    }()

    func testMatchesNumpyScipyFastDeLong() {
        for (i, c) in Self.cases.enumerated() {
            let t = DeLongTest(scoresA: c.a, scoresB: c.b, labels: c.labels)
            XCTAssertEqual(t.aucA, c.aucA, accuracy: 1e-12, "case \(i)")
            XCTAssertEqual(t.aucB, c.aucB, accuracy: 1e-12, "case \(i)")
            XCTAssertEqual(t.aucA, imageAUROC(scores: c.a, labels: c.labels), accuracy: 1e-12, "case \(i): same AUC as the evaluation")
            XCTAssertEqual(t.variance, c.variance, accuracy: 1e-12 * c.variance, "case \(i)")
            XCTAssertEqual(t.z, c.z, accuracy: 1e-9 * abs(c.z), "case \(i)")
            // Relative: the tail case's p is 3.9e-45, where a 1 - cdf form would print 0.
            XCTAssertEqual(t.pValue, c.p, accuracy: 1e-9 * c.p, "case \(i)")
        }
    }

    func testSwappingModelsFlipsTheSignOnly() {
        let c = Self.cases[0]
        let ab = DeLongTest(scoresA: c.a, scoresB: c.b, labels: c.labels)
        let ba = DeLongTest(scoresA: c.b, scoresB: c.a, labels: c.labels)
        XCTAssertEqual(ab.difference, -ba.difference, accuracy: 1e-15)
        XCTAssertEqual(ab.z, -ba.z, accuracy: 1e-12)
        XCTAssertEqual(ab.pValue, ba.pValue, accuracy: 1e-15)
    }

    func testIdenticalModelsHaveNoDifferenceAndTooFewImagesNoVariance() {
        let c = Self.cases[0]
        let same = DeLongTest(scoresA: c.a, scoresB: c.a, labels: c.labels)
        XCTAssertEqual(same.pValue, 1)
        XCTAssertEqual(same.z, 0)
        let one = DeLongTest(scoresA: [0.9, 0.1, 0.2], scoresB: [0.1, 0.9, 0.2], labels: [true, false, false])
        XCTAssertEqual(one.aucA, 1)
        XCTAssertEqual(one.aucB, 0)
        XCTAssertTrue(one.pValue.isNaN, "a single defective image gives no covariance estimate")
        XCTAssertTrue(DeLongTest(scoresA: [0.1, 0.2], scoresB: [0.3, 0.4], labels: [false, false]).aucA.isNaN)
    }

    func testMidranksShareTiedRanks() {
        XCTAssertEqual(midranks([0.5, 0.1, 0.5, 0.9, 0.5]), [3, 1, 3, 5, 3])
    }
}
