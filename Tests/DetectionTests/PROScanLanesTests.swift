import XCTest
import Numerics
@testable import Detection

/// `stpm_pro_scan_avx512` against the portable scan (`proScan`) on the same keys: every group's AU-PRO to the last
/// bit, for 1 to 11 groups (one lane to two calls with a ragged second), runs of tied scores across images, kinds
/// and regions, groups without a defect region, and limits that end the scan early or never (1).
final class PROScanLanesTests: XCTestCase {
    func testLanesGiveThePortableScansAreas() throws {
        try XCTSkipUnless(InstructionSet.available, "no AVX-512 here")
        var rng = SplitMix64(seed: 23)
        let size = 16
        for groupCount in 1...11 {
            // Coarse scores so that runs of ties span images; defect blobs of a few sizes on some images.
            let maps = (0..<14).map { _ in (0..<(size * size)).map { _ in Float(rng.next() % 40) / 64 } }
            let images = (0..<14).map { i -> PixelMetrics.Image in
                let defective = i % 3 != 0
                let mask = (0..<(size * size)).map { p in defective && ((p / size + p % size + i) % 7 == 0 || rng.next() % 11 == 0) }
                // Group 0 holds every image; the others a random subset, and group 1 (if any) only good images.
                var groups = [0]
                for g in 1..<max(groupCount, 1) where g == 1 ? !defective : rng.next() % 2 == 0 { groups.append(g) }
                return PixelMetrics.Image(map: i, regions: DefectRegions(mask: mask, width: size, height: size),
                                          groups: groups)
            }
            for limit in [0.3, 0.05, 1.0] {
                let lanes = InstructionSet.with(avx512: true) { PixelMetrics.compute(images, maps: .arrays(maps), groupCount: groupCount, fprLimit: limit) }
                let portable = InstructionSet.with(avx512: false) { PixelMetrics.compute(images, maps: .arrays(maps), groupCount: groupCount, fprLimit: limit) }
                XCTAssertEqual(lanes.map(\.auPRO.bitPattern), portable.map(\.auPRO.bitPattern), "\(groupCount) groups, limit \(limit)")
                XCTAssertEqual(lanes.map(\.pixelAUROC.bitPattern), portable.map(\.pixelAUROC.bitPattern))
                if groupCount > 1 { XCTAssertTrue(lanes[1].auPRO.isNaN, "a group of good images has no defect region") }
                XCTAssertFalse(lanes[0].auPRO.isNaN)
            }
        }
    }
}
