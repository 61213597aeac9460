import XCTest
@testable import Numerics

/// The AVX-512 depthwise kernels against the portable ones on the same inputs: forward (with bias and each
/// activation), input gradient and weight gradient, over ragged shapes (widths around the 16- and 32-column
/// blocks, heights around the 4-row blocks, single pixels), both strides, 3x3 and 5x5, TF-SAME and fixed
/// padding. The forward sums its taps in the portable order, so it must agree exactly.
final class DepthwiseAVX512Tests: XCTestCase {
    struct Case: CustomStringConvertible {
        var c: Int, n: Int, h: Int, w: Int, kernel: Int, stride: Int, padding: Conv2d.PaddingMode
        var activation: Activation, bias: Bool
        var description: String { "c\(c) n\(n) \(h)x\(w) k\(kernel) s\(stride) \(padding) \(activation) bias \(bias)" }
    }

    /// Every (kernel, stride, padding, activation) with random ragged sizes, plus the extremes.
    func cases() -> [Case] {
        var rng = SplitMix64(label: "depthwise-avx512-cases")
        func pick(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(rng.next() % UInt64(range.count)) }
        var all: [Case] = []
        let paddings: [Conv2d.PaddingMode] = [.tfSame, .fixed(.symmetric(1)), .fixed(Padding(top: 0, bottom: 2, left: 2, right: 0))]
        for kernel in [3, 5] {
            for stride in [1, 2] {
                for padding in paddings {
                    // The fixed paddings add 2 rows and columns: at least one output needs kernel - 2 more.
                    let least = padding == .tfSame ? 1 : max(1, kernel - 2)
                    for activation in [Activation.identity, .relu, .relu6] {
                        for _ in 0..<4 {
                            all.append(Case(c: pick(1...17), n: pick(1...3), h: pick(least...9), w: pick(least...35), kernel: kernel,
                                            stride: stride, padding: padding, activation: activation, bias: pick(0...1) == 1))
                        }
                    }
                }
                all.append(Case(c: 1, n: 1, h: 1, w: 1, kernel: kernel, stride: stride, padding: .tfSame, activation: .relu6, bias: true))
                all.append(Case(c: 2, n: 1, h: 9, w: 64, kernel: kernel, stride: stride, padding: .tfSame, activation: .identity, bias: false))
                all.append(Case(c: 3, n: 2, h: 8, w: 33, kernel: kernel, stride: stride, padding: .tfSame, activation: .relu6, bias: true))
            }
        }
        return all
    }

    struct Result { var y: [Float], dx: [Float], dw: [Float] }

    func run(_ k: Case, avx512: Bool) -> Result {
        InstructionSet.with(avx512: avx512) {
            var rng = SplitMix64(label: k.description)
            let conv = Conv2d(name: "dw", inChannels: k.c, outChannels: k.c, kernel: k.kernel, stride: k.stride,
                              padding: k.padding, groups: k.c, bias: k.bias)
            conv.weight.randomize(&rng)
            conv.bias?.randomize(&rng)
            let x = Tensor.random(c: k.c, n: k.n, h: k.h, w: k.w, &rng)
            let ws = Workspace()
            let out = conv.forward(x, ws, activation: k.activation)
            let y = out.array
            let dy = Tensor.random(c: out.c, n: out.n, h: out.h, w: out.w, &rng)
            let dx = conv.backward(x, dy, ws, needInputGrad: true).array
            return Result(y: y, dx: dx, dw: Array(UnsafeBufferPointer(start: conv.weight.grad!, count: conv.weight.count)))
        }
    }

    /// max |a - b| / max |b|.
    func relativeError(_ a: [Float], _ b: [Float]) -> Float {
        var diff: Float = 0, peak: Float = 0
        for i in b.indices {
            if a[i].isNaN != b[i].isNaN { return .infinity }
            diff = max(diff, abs(a[i] - b[i]))
            peak = max(peak, abs(b[i]))
        }
        return peak == 0 ? diff : diff / peak
    }

    func testAgreesWithPortableKernels() throws {
        guard InstructionSet.available else { throw XCTSkip("no AVX-512 on this machine") }
        for k in cases() {
            let fast = run(k, avx512: true), portable = run(k, avx512: false)
            XCTAssertEqual(fast.y.count, portable.y.count, "\(k)")
            let first = fast.y.indices.first { fast.y[$0].bitPattern != portable.y[$0].bitPattern }
            XCTAssertNil(first.map { "y[\($0)] = \(fast.y[$0]), portable \(portable.y[$0])" }, "forward \(k)")
            XCTAssertLessThanOrEqual(relativeError(fast.dx, portable.dx), 1e-6, "input gradient \(k)")
            XCTAssertLessThanOrEqual(relativeError(fast.dw, portable.dw), 1e-5, "weight gradient \(k)")
        }
    }
}
