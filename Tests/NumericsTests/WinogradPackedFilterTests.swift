import CKernels
import XCTest
@testable import Numerics

/// The Winograd filter transform written straight in the AVX-512 GEMM's packed layout holds the bits of the row-major
/// transform packed afterwards (`PackedOperand`): the same U_e, each in `stpm_sgemm_pack_a`'s panels. Shapes with one
/// panel, ragged panels, two row blocks (more than 336 outputs), two depth blocks (more than 384 inputs, the last run of
/// channels short), sums of exactly zero, on one thread and split between two; and the input gradient's filters, read
/// turned in place, hold the bits of their turned copy's transform.
final class WinogradPackedFilterTests: XCTestCase {
    func testPackedTransformIsTheRowMajorTransformPacked() throws {
        try XCTSkipUnless(InstructionSet.available, "no AVX-512 on this machine")
        let saved = Parallelism.threads
        defer { Parallelism.set(saved) }
        for (o, c, threads, integral) in [(5, 3, 1, false), (64, 64, 2, false), (29, 17, 2, false), (350, 20, 2, false),
                                          (30, 397, 1, false), (341, 400, 2, false), (40, 24, 2, true)] {
            Parallelism.set(threads)
            var rng = SplitMix64(seed: UInt64(o * 1000 + c))
            // Weights of -1, 0 and 1 make sums of exactly zero, whose sign the transform must keep (-0 from a negation).
            let weights = (0..<(o * c * 9)).map { _ in integral ? Float(Int(rng.next() % 3) - 1) : rng.uniform(-1, 1) }
            let g = WinogradGeometry(c: c, o: o, n: 1, h: 4, w: 4)
            XCTAssertEqual(Self.packed(weights, g, turned: false), Self.rowMajorPacked(weights, g),
                           "o \(o) c \(c) threads \(threads) integral \(integral)")
            // The same weights as an input gradient's [C][O] filters, read turned in place, against their turned copy.
            var copy = weights
            for ci in 0..<c { for co in 0..<o { for t in 0..<9 { copy[(co * c + ci) * 9 + t] = weights[(ci * o + co) * 9 + 8 - t] } } }
            XCTAssertEqual(Self.packed(weights, g, turned: true), Self.rowMajorPacked(copy, g),
                           "turned o \(o) c \(c) threads \(threads) integral \(integral)")
        }
    }

    static func packed(_ weights: [Float], _ g: WinogradGeometry, turned: Bool) -> [UInt32] {
        var u = [Float](repeating: .nan, count: g.filterCount)
        winogradFilterTransform(weights, g, &u, packed: true, turned: turned)
        return u.map(\.bitPattern)
    }

    /// The portable row-major transform, each U_e then packed by `stpm_sgemm_pack_a`.
    static func rowMajorPacked(_ weights: [Float], _ g: WinogradGeometry) -> [UInt32] {
        let size = g.o * g.c
        var rowMajor = [Float](repeating: .nan, count: g.filterCount), packed = rowMajor
        winogradFilterTransform(weights, g, &rowMajor, packed: false)
        rowMajor.withUnsafeBufferPointer { u in
            packed.withUnsafeMutableBufferPointer { p in
                for e in 0..<36 { stpm_sgemm_pack_a(0, g.o, g.c, u.baseAddress! + e * size, g.c, p.baseAddress! + e * size) }
            }
        }
        return packed.map(\.bitPattern)
    }
}

/// The weight gradient's last step (dw = Gᵀ Z G) in AVX-512 holds the portable path's bits: channels not a multiple of the
/// eight lanes, one and two threads, and Z of -1, 0 and 1 (sums of exactly zero).
final class WinogradFilterGradientTests: XCTestCase {
    func testAVX512FilterGradientGivesThePortableBits() throws {
        try XCTSkipUnless(InstructionSet.available, "no AVX-512 on this machine")
        let saved = Parallelism.threads
        defer { Parallelism.set(saved) }
        for (o, c, threads, integral) in [(3, 5, 1, false), (64, 64, 2, false), (17, 29, 2, false), (9, 13, 1, true)] {
            Parallelism.set(threads)
            var rng = SplitMix64(seed: UInt64(o * 100 + c))
            let g = WinogradGeometry(c: c, o: o, n: 1, h: 4, w: 4)
            let z = (0..<(36 * g.weightGradientZStride)).map { _ in integral ? Float(Int(rng.next() % 3) - 1) : rng.uniform(-1, 1) }
            func gradient(avx512: Bool) -> [UInt32] {
                var dw = [Float](repeating: .nan, count: o * c * 9)
                InstructionSet.with(avx512: avx512) { winogradFilterGradient(z, g, &dw) }
                return dw.map(\.bitPattern)
            }
            XCTAssertEqual(gradient(avx512: true), gradient(avx512: false), "o \(o) c \(c) threads \(threads) integral \(integral)")
        }
    }
}
