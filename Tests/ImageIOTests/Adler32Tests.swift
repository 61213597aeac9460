import CISAL
import CKernels
import XCTest
@testable import ImageIO
import Numerics

/// The AVX-512 Adler-32 (adler32_avx512.c) against ISA-L's on the same bytes: every length up to a few
/// 64-byte blocks, lengths around its 5504-byte reduction, a continued checksum, and all-255 bytes, whose
/// sums come nearest to overflowing 32 bits between reductions.
final class Adler32Tests: XCTestCase {
    func testAVX512KernelEqualsISAL() throws {
        try XCTSkipUnless(InstructionSet.available, "no AVX-512 on this machine")
        var rng = SplitMix64(seed: 32)
        let random = (0..<300_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let full = [UInt8](repeating: 255, count: 300_000)
        var lengths = Array(0...200) + [5503, 5504, 5505, 5551, 5552, 5553, 11_008, 11_009, 65_536, 299_999, 300_000]
        lengths += (0..<20).map { _ in Int(rng.next() % 300_000) }
        for bytes in [random, full] {
            try bytes.withUnsafeBufferPointer { bytes in
                let base = try XCTUnwrap(bytes.baseAddress)
                for length in lengths {
                    for (start, from) in [(1, 0), (40_000 << 16 | 60_000, 3)] where from + length <= bytes.count {
                        XCTAssertEqual(stpm_adler32_avx512(UInt32(start), base + from, length),
                                       isal_adler32(UInt32(start), base + from, UInt64(length)),
                                       "length \(length) from \(from), \(bytes[0] == 255 ? "all 255" : "random")")
                    }
                }
            }
        }
    }

    func testChecksumOfEmptyAndKnownBytes() {
        XCTAssertEqual([UInt8]().withUnsafeBufferPointer { Adler32.checksum($0) }, 1)
        // zlib.adler32(b"Wikipedia").
        for avx512 in [false, true] where !avx512 || InstructionSet.available {
            let value = InstructionSet.with(avx512: avx512) { Array("Wikipedia".utf8).withUnsafeBufferPointer { Adler32.checksum($0) } }
            XCTAssertEqual(value, 0x11E6_0398, "AVX-512 \(avx512)")
        }
    }
}
