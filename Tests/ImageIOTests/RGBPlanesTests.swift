import XCTest
@testable import ImageIO
import Numerics

/// The AVX-512 RGB-to-planes kernel (rgb_planes_avx512.c) against the portable loop on the same pixels:
/// every pixel count up to a few 16-pixel steps and larger ones, every byte value, nothing written past
/// the planes.
final class RGBPlanesTests: XCTestCase {
    func testAVX512KernelEqualsPortable() throws {
        try XCTSkipUnless(InstructionSet.available, "no AVX-512 on this machine")
        var rng = SplitMix64(seed: 3)
        for (width, height) in (1...40).map({ ($0, 1) }) + [(16, 16), (17, 5), (256, 256), (33, 31)] {
            let count = width * height
            let image = Image8(width: width, height: height, channels: 3,
                               pixels: (0..<(3 * count)).map { $0 < 256 ? UInt8($0) : UInt8(truncatingIfNeeded: rng.next()) })
            func planes(avx512: Bool) -> [Float] {
                // One spare value after each plane, which must stay untouched.
                var out = [Float](repeating: -1, count: 3 * (count + 1))
                out.withUnsafeMutableBufferPointer { out in
                    let base = out.baseAddress!
                    InstructionSet.with(avx512: avx512) {
                        image.copyPlanes(red: base, green: base + count + 1, blue: base + 2 * (count + 1))
                    }
                }
                return out
            }
            let fast = planes(avx512: true), portable = planes(avx512: false)
            XCTAssertEqual(fast, portable, "\(width)x\(height)")
            XCTAssertEqual(portable[count], -1)
            if count > 1 { XCTAssertEqual(portable[1], Float(image.pixels[3])) }
        }
    }
}
