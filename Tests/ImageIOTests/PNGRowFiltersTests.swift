import XCTest
@testable import ImageIO
import Numerics

/// The AVX-512 row-filter kernel (png_filters_avx512.c, 16 rows side by side) against the portable loops on
/// the same random filtered rows: RGB and RGBA, every filter type on every row position of a group of 16 and
/// mixed within one, widths and heights leaving every remainder of the group, byte values from a small set
/// (Paeth's ties, Average's odd sums) and from all 256.
final class PNGRowFiltersTests: XCTestCase {
    func testAVX512KernelEqualsPortable() throws {
        try XCTSkipUnless(InstructionSet.available, "no AVX-512 on this machine")
        var rng = SplitMix64(seed: 17)
        let few: [UInt8] = [0, 1, 2, 127, 128, 129, 254, 255]
        for bpp in [3, 4] {
            for width in [1, 2, 3, 5, 15, 16, 17, 40, 301] {
                for rows in [1, 2, 15, 16, 17, 31, 32, 33, 48, 50, 64, 65, 81] {
                    for pattern in 0..<7 {
                        let rowBytes = width * bpp
                        var raw = (0..<(rows * (rowBytes + 1))).map { _ in
                            pattern == 6 ? UInt8.random(in: 0...255, using: &rng) : few.randomElement(using: &rng)!
                        }
                        // Patterns 0-4: every row one filter type; 5 and 6: each row's type at random.
                        for y in 0..<rows { raw[y * (rowBytes + 1)] = UInt8(pattern < 5 ? pattern : Int(rng.next() % 5)) }
                        let fast = Self.undo(raw, rows: rows, rowBytes: rowBytes, bpp: bpp, avx512: true)
                        let portable = Self.undo(raw, rows: rows, rowBytes: rowBytes, bpp: bpp, avx512: false)
                        let differs = portable.indices.first { fast[$0] != portable[$0] }
                        XCTAssert(differs == nil, "bpp \(bpp) width \(width) rows \(rows) pattern \(pattern): "
                                  + "first different byte \(differs ?? -1) (row \((differs ?? 0) / rowBytes))")
                    }
                }
            }
        }
    }

    /// A filter type above 4 anywhere, also in a later group of 16 rows, fails both paths.
    func testFilterTypeAboveFourFailsBothPaths() throws {
        for row in [0, 20] {
            var raw = [UInt8](repeating: 3, count: 40 * (3 * 7 + 1))
            raw[row * 22] = 5
            for avx512 in [true, false] where !avx512 || InstructionSet.available {
                let ok = InstructionSet.with(avx512: avx512) {
                    raw.withUnsafeBufferPointer { raw in
                        let out = UnsafeMutablePointer<UInt8>.allocate(capacity: 40 * 21)
                        defer { out.deallocate() }
                        return PNGRowFilters.undo(raw.baseAddress!, rows: 40, rowBytes: 21, bytesPerPixel: 3, into: out)
                    }
                }
                XCTAssertFalse(ok, "type 5 in row \(row), AVX-512 \(avx512)")
            }
        }
    }

    private static func undo(_ raw: [UInt8], rows: Int, rowBytes: Int, bpp: Int, avx512: Bool) -> [UInt8] {
        InstructionSet.with(avx512: avx512) {
            [UInt8](unsafeUninitializedCapacity: rows * rowBytes) { out, count in
                let ok = raw.withUnsafeBufferPointer {
                    PNGRowFilters.undo($0.baseAddress!, rows: rows, rowBytes: rowBytes, bytesPerPixel: bpp, into: out.baseAddress!)
                }
                XCTAssertTrue(ok)
                count = rows * rowBytes
            }
        }
    }
}
