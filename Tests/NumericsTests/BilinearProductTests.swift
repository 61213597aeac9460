import XCTest
@testable import Numerics

/// The fused map pass (`BilinearUpsample.product`) against its definition: each level resized by
/// `forward`, the planes multiplied in level order, the maximum of each plane.
final class BilinearProductTests: XCTestCase {
    func testProductEqualsResizedLevelsMultipliedBitForBit() {
        // Small odd shapes, and STPM's at 256 px (each source row read by 4, 8 and 16 output rows).
        check(sizes: [(8, 8), (4, 4), (2, 2)], planes: 2, outH: 12, outW: 16)
        check(sizes: [(64, 64), (32, 32), (16, 16)], planes: 1, outH: 256, outW: 256)
    }

    private func check(sizes: [(Int, Int)], planes: Int, outH: Int, outW: Int) {
        var rng = SplitMix64(seed: 7)
        let ups = sizes.map { BilinearUpsample(inH: $0.0, inW: $0.1, outH: outH, outW: outW) }
        let levels = sizes.map { s in (0..<(planes * s.0 * s.1)).map { _ in rng.nextUnit() } }
        var expected = [Float](repeating: 1, count: planes * outH * outW)
        for (up, level) in zip(ups, levels) {
            var resized = [Float](repeating: 0, count: expected.count)
            up.forward(level, &resized, planes: planes)
            for i in expected.indices { expected[i] *= resized[i] }
        }
        var got = [Float](repeating: 0, count: expected.count)
        let peaks = levels[0].withUnsafeBufferPointer { l0 in
            levels[1].withUnsafeBufferPointer { l1 in
                levels[2].withUnsafeBufferPointer { l2 in
                    BilinearUpsample.product(of: [(ups[0], l0.baseAddress!), (ups[1], l1.baseAddress!), (ups[2], l2.baseAddress!)],
                                             into: &got, planes: planes)
                }
            }
        }
        XCTAssertEqual(got, expected)
        let plane = outH * outW
        XCTAssertEqual(peaks, (0..<planes).map { expected[($0 * plane)..<(($0 + 1) * plane)].max()! })
    }

    /// A NaN anywhere in a plane, even after larger values, makes its peak NaN: never a finite score.
    func testNaNAnywhereMakesThePeakNaN() {
        let up = BilinearUpsample(inH: 1, inW: 3, outH: 1, outW: 3)  // the identity: plane 0 becomes [5, NaN, NaN]
        var got = [Float](repeating: 0, count: 6)
        let level: [Float] = [5, 1, .nan, 1, 2, 4]
        let peaks = level.withUnsafeBufferPointer { BilinearUpsample.product(of: [(up, $0.baseAddress!)], into: &got, planes: 2) }
        XCTAssertTrue(peaks[0].isNaN, "\(peaks)")
        XCTAssertEqual(peaks[1], 4)
    }

    /// Planes large enough to be split in row halves across two threads: each half's peak counts, and a NaN
    /// in either half (before or after the plane's largest value) still makes the plane's peak NaN.
    func testRowHalvesOnTwoThreadsKeepThePeaksAndTheNaN() {
        let saved = Parallelism.threads
        defer { Parallelism.set(saved) }
        Parallelism.set(2)
        let side = 128, plane = side * side
        let up = BilinearUpsample(inH: side, inW: side, outH: side, outW: side)  // the identity
        var level = (0..<(4 * plane)).map { Float($0 % 97) / 100 }
        level[0 * plane + 10 * side + 3] = .nan; level[0 * plane + 100 * side + 5] = 50  // NaN in the first half
        level[1 * plane + 120 * side + 7] = 7  // the largest value in the second half
        level[2 * plane + 2 * side] = 9; level[2 * plane + 127 * side + 127] = .nan  // NaN in the second half
        level[3 * plane + 1] = 8  // the largest value in the first half
        func run(threads: Int) -> (map: [Float], peaks: [Float]) {
            Parallelism.set(threads)
            var got = [Float](repeating: 0, count: level.count)
            let peaks = level.withUnsafeBufferPointer { BilinearUpsample.product(of: [(up, $0.baseAddress!)], into: &got, planes: 4) }
            return (got, peaks)
        }
        let (map, peaks) = run(threads: 2), serial = run(threads: 1)
        XCTAssertTrue(peaks[0].isNaN && peaks[2].isNaN, "\(peaks)")
        XCTAssertEqual(peaks[1], 7)
        XCTAssertEqual(peaks[3], 8)
        XCTAssert(map.map(\.bitPattern) == serial.map.map(\.bitPattern), "two threads' map differs from one thread's")
    }
}
