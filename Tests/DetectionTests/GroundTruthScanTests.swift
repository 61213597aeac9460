import XCTest
@testable import Detection

/// `GroundTruth.values(of:)` and `defects` (the vectorised passes over each mask) against the rule's plain
/// definitions: every byte value, at every position of masks of 1 to 80 bytes (the vector loops' remainders).
final class GroundTruthScanTests: XCTestCase {
    func testOnePassGivesTheDefinitionsForEveryValueAndPosition() {
        for count in 1...80 {
            for position in Set([0, count / 2, count - 1]) {
                for background: UInt8 in [0, 255] {
                    for v in 0...255 {
                        var pixels = [UInt8](repeating: background == 255 && count > 1 ? 0 : background, count: count)
                        if background == 255 && count > 1 { pixels[(position + 1) % count] = 255 }
                        pixels[position] = UInt8(v)
                        let scan = GroundTruth.values(of: pixels)
                        XCTAssertEqual(scan.defect, pixels.contains { $0 > 127 }, "\(count) bytes, \(v) at \(position)")
                        XCTAssertEqual(scan.nonBinary, pixels.contains { $0 != 0 && $0 != 255 }, "\(count) bytes, \(v) at \(position)")
                        XCTAssertEqual(GroundTruth.defects(pixels), pixels.map { $0 > 127 })
                    }
                }
            }
        }
    }
}
