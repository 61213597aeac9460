import XCTest
import Numerics
@testable import ImageIO

/// Expected bytes come from Pillow 13.0.0 on the same synthetic inputs.
final class ResizeTests: XCTestCase {
    private func source(_ width: Int, _ height: Int, _ channels: Int) -> Image8 {
        var pixels = [UInt8]()
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<channels { pixels.append(UInt8((x * 37 + y * 91 + c * 53) % 256)) }
            }
        }
        return Image8(width: width, height: height, channels: channels, pixels: pixels)
    }

    func testBilinearMatchesPillow() {
        XCTAssertEqual(source(7, 5, 1).resizedBilinear(width: 3, height: 2).pixels, [99, 129, 129, 106, 118, 128])
        XCTAssertEqual(source(2, 3, 3).resizedBilinear(width: 5, height: 4).pixels, [
            0, 53, 106, 4, 57, 110, 19, 72, 125, 33, 86, 139, 37, 90, 143, 57, 110, 163, 61, 114, 167, 76, 129, 182,
            90, 143, 196, 94, 147, 200, 125, 178, 135, 129, 172, 139, 144, 149, 154, 158, 125, 168, 162, 119, 172,
            182, 235, 32, 186, 213, 36, 201, 126, 51, 215, 38, 65, 219, 16, 69,
        ])
        XCTAssertEqual(source(9, 4, 3).resizedBilinear(width: 4, height: 7).pixels, [
            31, 84, 137, 106, 159, 205, 172, 156, 103, 61, 62, 115, 64, 117, 151, 136, 169, 155, 142, 131, 113, 75,
            95, 148, 116, 169, 173, 184, 185, 75, 94, 90, 129, 97, 147, 200, 142, 140, 120, 120, 136, 102, 102, 127,
            168, 146, 151, 150, 153, 105, 69, 55, 91, 140, 121, 169, 194, 183, 144, 96, 88, 102, 121, 97, 143, 156,
            163, 172, 114, 118, 104, 118, 48, 101, 154, 123, 176, 166, 189, 173, 64, 78, 79, 132,
        ])
    }

    func testBilinearVerticalFirstWhenHeightShrinksMuchMore() {
        // 6x20 -> 5x3 takes Pillow 13's vertical-first order; the other order gives different bytes.
        XCTAssertEqual(source(6, 20, 1).resizedBilinear(width: 5, height: 3).pixels,
                       [108, 122, 115, 123, 122, 138, 132, 137, 127, 141, 132, 134, 128, 135, 123])
    }

    /// The AVX-512 passes (resize_avx512.c) against the portable ones on the same random images: RGB and gray,
    /// reducing and enlarging each axis, sizes leaving every remainder of the kernels' blocks (4 output pixels,
    /// 4 taps, 16 and 64 bytes of a row), both pass orders.
    func testAVX512PassesEqualPortable() throws {
        try XCTSkipUnless(InstructionSet.available, "no AVX-512 on this machine")
        var state: UInt64 = 0x2545F4914F6CDD1D
        func random(_ width: Int, _ height: Int, _ channels: Int) -> Image8 {
            Image8(width: width, height: height, channels: channels, pixels: (0..<(width * height * channels)).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                // A third of the bytes 0 or 255, where a wrong rounding or clamp shows first.
                let byte = UInt8(truncatingIfNeeded: state >> 56)
                return byte % 3 == 0 ? (byte & 8 == 0 ? 0 : 255) : byte
            })
        }
        for (width, height) in [(300, 400), (1, 1), (2, 5), (17, 3), (5, 70), (131, 67), (64, 64), (803, 9)] {
            for channels in [3, 1] {
                let image = random(width, height, channels)
                let sizes = [(256, 256), (1, 1), (3, 129), (67, 5), (width + 1, height), (width, (height + 2) / 3),
                             ((width + 6) / 7, height), (2 * width + 3, 2 * height + 1), (21, 300)]
                for (outWidth, outHeight) in sizes {
                    let fast = InstructionSet.with(avx512: true) { image.resizedBilinear(width: outWidth, height: outHeight) }
                    let portable = InstructionSet.with(avx512: false) { image.resizedBilinear(width: outWidth, height: outHeight) }
                    let differs = fast.pixels.indices.first { $0 >= portable.pixels.count || fast.pixels[$0] != portable.pixels[$0] }
                    XCTAssert(fast.width == outWidth && fast.height == outHeight && differs == nil,
                              "\(width)x\(height)x\(channels) -> \(outWidth)x\(outHeight): first different byte \(differs ?? -1)")
                }
            }
        }
    }

    func testBilinearSameSizeIsIdentity() {
        let image = source(5, 4, 3)
        XCTAssertEqual(image.resizedBilinear(width: 5, height: 4), image)
    }

    func testNearestMatchesPillow() {
        XCTAssertEqual(source(7, 5, 1).resizedNearest(width: 3, height: 2).pixels, [128, 202, 20, 54, 128, 202])
        XCTAssertEqual(source(6, 20, 1).resizedNearest(width: 5, height: 3).pixels,
                       [17, 54, 128, 165, 202, 142, 179, 253, 34, 71, 176, 213, 31, 68, 105])
        XCTAssertEqual(source(9, 4, 3).resizedNearest(width: 4, height: 7).pixels, [
            37, 90, 143, 111, 164, 217, 185, 238, 35, 3, 56, 109, 37, 90, 143, 111, 164, 217, 185, 238, 35, 3, 56,
            109, 128, 181, 234, 202, 255, 52, 20, 73, 126, 94, 147, 200, 128, 181, 234, 202, 255, 52, 20, 73, 126,
            94, 147, 200, 219, 16, 69, 37, 90, 143, 111, 164, 217, 185, 238, 35, 54, 107, 160, 128, 181, 234, 202,
            255, 52, 20, 73, 126, 54, 107, 160, 128, 181, 234, 202, 255, 52, 20, 73, 126,
        ])
    }

    func testNearestAccumulatesLikePillow() {
        // floor((i + 0.5) * 2/7) would pick column 1 for i = 3; Pillow's running sum lands just below 1.
        let row = Image8(width: 2, height: 1, channels: 1, pixels: [10, 20])
        XCTAssertEqual(row.resizedNearest(width: 7, height: 1).pixels, [10, 10, 10, 10, 20, 20, 20])
    }
}
