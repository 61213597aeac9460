import XCTest
import Numerics
@testable import Detection

final class RadixSortTests: XCTestCase {
    /// The same array as the standard library's sort: every byte position varying or constant, duplicates,
    /// the lengths 0 to 3, and keys shaped as the metrics build them (score bits above, index or label below).
    func testSortsAsTheStandardLibrary() {
        var rng = SplitMix64(seed: 5)
        var cases: [[UInt64]] = [[], [7], [2, 1], [3, 3, 1]]
        cases.append((0..<5000).map { _ in rng.next() })
        cases.append((0..<5000).map { _ in rng.next() & 0xFF00_0000_00FF_FF00 })
        cases.append((0..<5000).map { _ in UInt64.random(in: 0...40, using: &rng) })
        cases.append((0..<5000).map { i in UInt64(Float.random(in: 0..<1, using: &rng).bitPattern) << 32 | UInt64(i) })
        cases.append((0..<5000).map { _ in UInt64.max - UInt64.random(in: 0...3, using: &rng) })
        // Long enough to be split between the cores, with a part boundary inside runs of equal bytes.
        cases.append((0..<150_001).map { _ in rng.next() & 0x0000_00FF_0F00_FF0F })
        for keys in cases {
            var sorted = keys
            radixSort(&sorted)
            XCTAssertEqual(sorted, keys.sorted(), "\(keys.count) keys")
        }
    }

    /// Keys built in index order (AU-PRO's: score bits above, pixel index below) sort as fully sorted
    /// when only the upper bytes are passed over; many ties, some upper halves that differ in their lowest
    /// byte alone and some that differ in every byte.
    func testKeysOrderedByTheirLowHalfSkipThosePasses() {
        var rng = SplitMix64(seed: 9)
        let uppers = (0..<300).map { i in i % 2 == 0 ? rng.next() % 512 : rng.next() >> 32 }
        let keys = (0..<200_003).map { i in uppers[Int(rng.next() % 300)] << 32 | UInt64(i) }
        var sorted = keys
        radixSort(&sorted, ignoringLowBytes: 4)
        XCTAssertEqual(sorted, keys.sorted())
    }
}
