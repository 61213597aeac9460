import XCTest
@testable import Numerics

/// BatchNorm's per-row passes in AVX-512 (batchnorm_avx512.c) against the portable Swift passes on the same rows,
/// bit for bit: lengths around the 16-value steps, the 1024-value chunks and the four chunks summed side by side
/// (1 to 9 chunks, with and without a remainder), each activation, values whose y = x * scale + shift falls on
/// both sides of 0 and 6, and signed zeros.
final class BatchNormAVX512Tests: XCTestCase {
    let lengths = [1, 7, 15, 16, 17, 31, 33, 1023, 1024, 1025, 2048 + 16, 3 * 1024 + 40, 4 * 1024, 4 * 1024 + 1,
                   5 * 1024 + 17, 8 * 1024, 9 * 1024 + 1023]
    let activations: [Activation] = [.identity, .relu, .relu6]

    func row(_ count: Int, _ label: String) -> [Float] {
        var rng = SplitMix64(label: label)
        return (0..<count).map { i in i % 97 == 5 ? -0.0 : i % 89 == 3 ? 0 : 3 * rng.normal() + 1 }
    }

    func bothWays<T>(_ body: () -> T) -> (fast: T, portable: T) {
        (InstructionSet.with(avx512: true) { body() }, InstructionSet.with(avx512: false) { body() })
    }

    func testSumsAgreeWithPortablePasses() throws {
        guard InstructionSet.available else { throw XCTSkip("no AVX-512 on this machine") }
        for n in lengths {
            let x = row(n, "x \(n)"), g = row(n, "g \(n)")
            let sums = bothWays { chunkedSum(x, n) }
            XCTAssertEqual(sums.fast.bitPattern, sums.portable.bitPattern, "sum of \(n): \(sums.fast) vs \(sums.portable)")
            let mean = Float(sums.portable / Double(n))
            let deviations = bothWays { chunkedSquaredDeviation(x, n, mean: mean) }
            XCTAssertEqual(deviations.fast.bitPattern, deviations.portable.bitPattern, "squared deviation of \(n)")
            for activation in activations {
                let masked = bothWays { activation.maskedSums(g, x, n, scale: 1.3, shift: 0.7) }
                XCTAssertEqual(masked.fast.0.bitPattern, masked.portable.0.bitPattern, "sum of g' over \(n), \(activation)")
                XCTAssertEqual(masked.fast.1.bitPattern, masked.portable.1.bitPattern, "sum of g' x over \(n), \(activation)")
            }
        }
    }

    /// Chunks of very different sizes and signs, whose Double totals round differently in another order: the
    /// chunks summed side by side must still be combined in their order.
    func testChunksCombineInTheirOrder() throws {
        guard InstructionSet.available else { throw XCTSkip("no AVX-512 on this machine") }
        for n in [4 * 1024, 8 * 1024 + 100] {
            var rng = SplitMix64(label: "chunk magnitudes \(n)")
            let x: [Float] = (0..<n).map { i in
                let magnitude: Float = [1e12, 1, -1e12, 3e-3][i / 1024 % 4] * (1 + Float(i / 1024) / 7)
                return magnitude * (1 + rng.nextUnit())
            }
            let sums = bothWays { chunkedSum(x, n) }
            XCTAssertEqual(sums.fast.bitPattern, sums.portable.bitPattern, "sum of \(n): \(sums.fast) vs \(sums.portable)")
            let masked = bothWays { Activation.identity.maskedSums(x, x, n, scale: 1, shift: 0) }
            XCTAssertEqual(masked.fast.0.bitPattern, masked.portable.0.bitPattern, "sum of g over \(n)")
        }
    }

    func testElementwisePassesAgreeWithPortablePasses() throws {
        guard InstructionSet.available else { throw XCTSkip("no AVX-512 on this machine") }
        for n in lengths where n < 4 * 1024 + 2 {
            let x = row(n, "x \(n)"), g = row(n, "g \(n)")
            for activation in activations {
                let applied = bothWays { () -> [Float] in
                    var y = [Float](repeating: .nan, count: n)
                    activation.apply(x, &y, n, scale: 1.3, shift: 0.7)
                    return y
                }
                let first = applied.fast.indices.first { applied.fast[$0].bitPattern != applied.portable[$0].bitPattern }
                XCTAssertNil(first.map { "y[\($0)] = \(applied.fast[$0]), portable \(applied.portable[$0])" }, "apply \(n) \(activation)")
                let gradients = bothWays { () -> [Float] in
                    var dx = [Float](repeating: .nan, count: n)
                    activation.normGradient(g, x, &dx, n, scale: 1.3, shift: 0.7, mean: 0.9, inv: 0.4, k: 1.7, a: 0.2, b: -0.3)
                    return dx
                }
                let wrong = gradients.fast.indices.first { gradients.fast[$0].bitPattern != gradients.portable[$0].bitPattern }
                XCTAssertNil(wrong.map { "dx[\($0)] = \(gradients.fast[$0]), portable \(gradients.portable[$0])" },
                             "normGradient \(n) \(activation)")
            }
        }
    }

    /// In place (dst = src, dx = g), as BatchNorm's passes run them.
    func testInPlacePassesAgreeWithPortablePasses() throws {
        guard InstructionSet.available else { throw XCTSkip("no AVX-512 on this machine") }
        let n = 1024 + 37, x = row(n, "in place x")
        let applied = bothWays { () -> [Float] in
            var y = x
            y.withUnsafeMutableBufferPointer { Activation.relu6.apply($0.baseAddress!, $0.baseAddress!, n, scale: 1.3, shift: 0.7) }
            return y
        }
        XCTAssertEqual(applied.fast.map(\.bitPattern), applied.portable.map(\.bitPattern))
        let gradients = bothWays { () -> [Float] in
            var g = row(n, "in place g")
            g.withUnsafeMutableBufferPointer {
                Activation.relu6.normGradient($0.baseAddress!, x, $0.baseAddress!, n, scale: 1.3, shift: 0.7, mean: 0.9, inv: 0.4,
                                              k: 1.7, a: 0.2, b: -0.3)
            }
            return g
        }
        XCTAssertEqual(gradients.fast.map(\.bitPattern), gradients.portable.map(\.bitPattern))
    }

    /// A residual join (`ResidualAdd.forward`: either side read through its train-mode BatchNorm or as it lies), rows of
    /// 70 and 1093 values (tails past the 16-value steps).
    func testJoinAgreesWithPortablePasses() throws {
        guard InstructionSet.available else { throw XCTSkip("no AVX-512 on this machine") }
        for (h, w) in [(5, 7), (1, 1093)] {
            func tensor(_ label: String) -> Tensor {
                let t = Tensor(c: 3, n: 2, h: h, w: w)
                t.data.update(from: row(t.count, label), count: t.count)
                return t
            }
            let a = tensor("join a \(w)"), b = tensor("join b \(w)")
            func normalizer(_ label: String) -> BatchNorm2d {
                var rng = SplitMix64(label: label)
                let bn = BatchNorm2d(name: label, channels: 3)
                for c in 0..<3 { bn.weight.value[c] = 2 * rng.nextUnit() - 0.5; bn.bias.value[c] = 2 * rng.nextUnit() - 1 }
                bn.training = true
                bn.forward(label == "bn a" ? a : b)
                return bn
            }
            let bnA = normalizer("bn a"), bnB = normalizer("bn b")
            for activation in activations {
                for (na, nb) in [(true, true), (true, false), (false, true), (false, false)] {
                    let joined = bothWays { () -> [Float] in
                        let join = ResidualAdd(activation: activation)
                        return join.forward(.init(a, normalizedBy: na ? bnA : nil), .init(b, normalizedBy: nb ? bnB : nil)).array
                    }
                    XCTAssertEqual(joined.fast.map(\.bitPattern), joined.portable.map(\.bitPattern), "join \(w) \(activation) \(na) \(nb)")
                }
            }
        }
    }
}

