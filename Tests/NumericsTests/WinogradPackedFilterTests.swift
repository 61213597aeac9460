import CKernels
import XCTest
@testable import Numerics

/// The Winograd filter transform written straight in the AVX-512 GEMM's packed layout holds the bits of the row-major
/// transform packed afterwards (`PackedOperand`): the same U_e, each in `stpm_sgemm_pack_a`'s panels. Shapes with one
/// panel, ragged panels, two row blocks (more than 336 outputs), two depth blocks (more than 384 inputs, the last run of
/// channels short), sums of exactly zero, on one thread and split between two.
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
            let g = WinogradGeometry(c: c, o: o, n: 1, h: 4, w: 4), size = o * c
            var rowMajor = [Float](repeating: .nan, count: 36 * size), packed = rowMajor
            winogradFilterTransform(weights, g, &rowMajor, packed: false)
            winogradFilterTransform(weights, g, &packed, packed: true)
            var expected = [Float](repeating: .nan, count: 36 * size)
            rowMajor.withUnsafeBufferPointer { u in
                expected.withUnsafeMutableBufferPointer { p in
                    for e in 0..<36 { stpm_sgemm_pack_a(0, o, c, u.baseAddress! + e * size, c, p.baseAddress! + e * size) }
                }
            }
            XCTAssertEqual(packed.map(\.bitPattern), expected.map(\.bitPattern), "o \(o) c \(c) threads \(threads) integral \(integral)")
        }
    }
}
