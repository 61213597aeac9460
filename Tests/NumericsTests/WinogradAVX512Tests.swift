import XCTest
@testable import Numerics

/// The AVX-512 Winograd transforms against the portable ones on the same inputs. The transforms do the
/// same operations in the same order, but the GEMMs between them may differ by path (an AVX-512 GEMM sums
/// in another order), so the outputs agree to float rounding rather than bit for bit. Ragged shapes: widths whose tile rows are not multiples of the
/// 16-tile runs (and rows of 4 and 8 tiles, which share vectors), heights that cut the last tile row, channels 1 to 17, batches whose blocks split tile rows
/// (1 to 3 threads change the block size), every activation, with and without bias.
final class WinogradAVX512Tests: XCTestCase {
    struct Case: CustomStringConvertible {
        var c: Int, o: Int, n: Int, h: Int, w: Int, threads: Int, activation: Activation, bias: Bool
        var description: String { "c\(c) o\(o) n\(n) \(h)x\(w) threads \(threads) \(activation) bias \(bias)" }
    }

    func cases() -> [Case] {
        var rng = SplitMix64(label: "winograd-avx512-cases")
        func pick(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(rng.next() % UInt64(range.count)) }
        var all: [Case] = []
        for activation in [Activation.identity, .relu, .relu6] {
            for threads in 1...3 {
                for _ in 0..<8 {
                    all.append(Case(c: pick(1...17), o: pick(1...17), n: pick(1...3), h: pick(1...9), w: pick(1...35),
                                    threads: threads, activation: activation, bias: pick(0...1) == 1))
                }
            }
            // Tile rows of exactly 16 tiles, longer ones split into runs, and blocks of many runs.
            all.append(Case(c: 3, o: 5, n: 2, h: 8, w: 64, threads: 2, activation: activation, bias: true))
            all.append(Case(c: 2, o: 3, n: 1, h: 13, w: 130, threads: 3, activation: activation, bias: false))
            // Tile rows of 4 and 8 tiles share a vector (two and four per vector), also with cut tiles.
            all.append(Case(c: 16, o: 16, n: 3, h: 16, w: 16, threads: 2, activation: activation, bias: true))
            all.append(Case(c: 5, o: 7, n: 3, h: 30, w: 31, threads: 2, activation: activation, bias: true))
            all.append(Case(c: 4, o: 3, n: 5, h: 14, w: 13, threads: 3, activation: activation, bias: false))
        }
        return all
    }

    func forward(_ k: Case, avx512: Bool) -> [Float] {
        InstructionSet.with(avx512: avx512) {
            var rng = SplitMix64(label: k.description)
            let conv = Conv2d(name: "wino", inChannels: k.c, outChannels: k.o, kernel: 3, padding: .fixed(.symmetric(1)),
                              bias: k.bias)
            conv.weight.randomize(&rng)
            conv.bias?.randomize(&rng)
            let x = Tensor.random(c: k.c, n: k.n, h: k.h, w: k.w, &rng)
            // NaN first, so that an output element left unwritten cannot match.
            conv.output.resize(c: k.o, n: k.n, h: k.h, w: k.w)
            conv.output.data.update(repeating: .nan, count: conv.output.count)
            return conv.forward(x, Workspace(), activation: k.activation, algorithm: .winograd).array
        }
    }

    func testAgreesWithPortableTransforms() throws {
        guard InstructionSet.available else { throw XCTSkip("no AVX-512 on this machine") }
        let saved = Parallelism.threads
        defer { Parallelism.set(saved) }
        for k in cases() {
            Parallelism.set(k.threads)
            let fast = forward(k, avx512: true), portable = forward(k, avx512: false)
            var diff: Float = 0, peak: Float = 0
            for i in portable.indices {
                diff = max(diff, fast[i].isNaN || portable[i].isNaN ? .infinity : abs(fast[i] - portable[i]))
                peak = max(peak, abs(portable[i]))
            }
            // The GEMMs' rounding shows relative to the transformed products (up to ~10x y, more under ReLU6's
            // clamp): seen up to 1.5e-5 of the peak; a misplaced tile or lane is off by the order of the peak.
            XCTAssertLessThanOrEqual(diff, 1e-4 * max(peak, 1), "\(k)")
        }
    }

    /// The weight gradient (input and gradient transforms, 36 GEMMs, Gᵀ Z G) on both paths, over the same ragged
    /// cases, whole and in bands of one image.
    func testWeightGradientAgreesWithPortable() throws {
        guard InstructionSet.available else { throw XCTSkip("no AVX-512 on this machine") }
        let saved = Parallelism.threads
        defer { Parallelism.set(saved) }
        for k in cases() where k.activation == .identity {
            Parallelism.set(k.threads)
            for banded in [false, true] {
                func weightGradient(avx512: Bool) -> [Float] {
                    InstructionSet.with(avx512: avx512) {
                        var rng = SplitMix64(label: k.description)
                        let conv = Conv2d(name: "wino", inChannels: k.c, outChannels: k.o, kernel: 3,
                                          padding: .fixed(.symmetric(1)))
                        conv.weight.randomize(&rng)
                        let x = Tensor.random(c: k.c, n: k.n, h: k.h, w: k.w, &rng)
                        let dy = Tensor.random(c: k.o, n: k.n, h: k.h, w: k.w, &rng)
                        let ws = Workspace()
                        if banded { ws.columnLimit = WinogradGeometry(c: k.c, o: k.o, n: k.n, h: k.h, w: k.w).weightGradientBand(1) }
                        conv.weight.enableGrad()
                        conv.weight.grad!.update(repeating: .nan, count: conv.weight.count)
                        conv.backward(x, dy, ws, needInputGrad: false, into: nil, algorithm: nil, weightAlgorithm: .winograd)
                        return conv.weight.gradients
                    }
                }
                let fast = weightGradient(avx512: true), portable = weightGradient(avx512: false)
                var diff: Float = 0, peak: Float = 0
                for i in portable.indices {
                    diff = max(diff, fast[i].isNaN || portable[i].isNaN ? .infinity : abs(fast[i] - portable[i]))
                    peak = max(peak, abs(portable[i]))
                }
                // Sums over the tiles in another order (the GEMMs): float rounding of the transformed products.
                XCTAssertLessThanOrEqual(diff, 1e-5 * max(peak, 1), "\(k) banded \(banded)")
            }
        }
    }
}
