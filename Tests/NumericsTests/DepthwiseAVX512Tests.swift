import XCTest
import CKernels
@testable import Numerics

/// The AVX-512 depthwise forward and backward against the portable ones on the same inputs, with bias and
/// each activation, over ragged shapes (widths around the 16- and 32-column blocks, heights around the 4-row
/// blocks, single pixels), both strides, 3x3 and 5x5, TF-SAME and fixed padding. The forward and the input
/// gradient sum their taps in the portable order, so they must agree exactly (the input gradient up to the
/// sign of a zero: the portable kernel adds taps that fall outside dy as w * 0); the weight gradient sums a
/// plane in another order.
final class DepthwiseAVX512Tests: XCTestCase {
    struct Case: CustomStringConvertible {
        var c: Int, n: Int, h: Int, w: Int, kernel: Int, stride: Int, padding: Conv2d.PaddingMode
        var activation: Activation, bias: Bool
        var description: String { "c\(c) n\(n) \(h)x\(w) k\(kernel) s\(stride) \(padding) \(activation) bias \(bias)" }
    }

    /// Every (kernel, stride, padding, activation) with random ragged sizes, plus the extremes. Two channels at
    /// least: one channel is a dense convolution (`isDepthwise` is groups > 1), whose portable side is OpenBLAS,
    /// and OpenBLAS rounds as the AVX-512 GEMM does only where its kernels use FMA (not its generic Prescott
    /// ones, which it falls back to on processors it does not know).
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
                            all.append(Case(c: pick(2...17), n: pick(1...3), h: pick(least...9), w: pick(least...35), kernel: kernel,
                                            stride: stride, padding: padding, activation: activation, bias: pick(0...1) == 1))
                        }
                    }
                }
                all.append(Case(c: 2, n: 1, h: 1, w: 1, kernel: kernel, stride: stride, padding: .tfSame, activation: .relu6, bias: true))
                all.append(Case(c: 2, n: 1, h: 9, w: 64, kernel: kernel, stride: stride, padding: .tfSame, activation: .identity, bias: false))
                all.append(Case(c: 3, n: 2, h: 8, w: 33, kernel: kernel, stride: stride, padding: .tfSame, activation: .relu6, bias: true))
            }
        }
        return all
    }

    /// The case's convolution and input, drawn from its description, and the generator after them.
    func layer(_ k: Case) -> (conv: Conv2d, x: Tensor, rng: SplitMix64) {
        var rng = SplitMix64(label: k.description)
        let conv = Conv2d(name: "dw", inChannels: k.c, outChannels: k.c, kernel: k.kernel, stride: k.stride,
                          padding: k.padding, groups: k.c, bias: k.bias)
        conv.weight.randomize(&rng)
        conv.bias?.randomize(&rng)
        let x = Tensor.random(c: k.c, n: k.n, h: k.h, w: k.w, &rng)
        return (conv, x, rng)
    }

    func forward(_ k: Case, avx512: Bool) -> [Float] {
        InstructionSet.with(avx512: avx512) {
            let (conv, x, _) = layer(k)
            let ws = Workspace()
            return conv.forward(x, ws, activation: k.activation).array
        }
    }

    /// (dL/dx, dL/dw) for dy random.
    func backward(_ k: Case, avx512: Bool) -> ([Float], [Float]) {
        InstructionSet.with(avx512: avx512) {
            var rng = SplitMix64(label: "backward " + k.description)
            let conv = Conv2d(name: "dw", inChannels: k.c, outChannels: k.c, kernel: k.kernel, stride: k.stride,
                              padding: k.padding, groups: k.c)
            conv.weight.randomize(&rng)
            let x = Tensor.random(c: k.c, n: k.n, h: k.h, w: k.w, &rng)
            let g = conv.geometry(x)
            let dy = Tensor.random(c: k.c, n: k.n, h: g.oh, w: g.ow, &rng)
            let dx = conv.backward(x, dy, Workspace(), needInputGrad: true)
            return (dx.array, conv.weight.gradients)
        }
    }

    func testBackwardAgreesWithPortableKernels() throws {
        guard InstructionSet.available else { throw XCTSkip("no AVX-512 on this machine") }
        for k in cases() {
            let (fastDx, fastDw) = backward(k, avx512: true), (dx, dw) = backward(k, avx512: false)
            XCTAssertEqual(fastDx.count, dx.count, "\(k)")
            let first = dx.indices.first { fastDx[$0] != dx[$0] }
            XCTAssertNil(first.map { "dx[\($0)] = \(fastDx[$0]), portable \(dx[$0])" }, "backward \(k)")
            let scale = dw.map(abs).max() ?? 0
            let worst = dw.indices.max { abs(fastDw[$0] - dw[$0]) < abs(fastDw[$1] - dw[$1]) }
            if let i = worst {
                XCTAssertLessThanOrEqual(abs(fastDw[i] - dw[i]), 1e-5 * max(scale, 1), "dw[\(i)] = \(fastDw[i]), portable \(dw[i]), \(k)")
            }
        }
    }

    func testAgreesWithPortableKernels() throws {
        guard InstructionSet.available else { throw XCTSkip("no AVX-512 on this machine") }
        for k in cases() {
            let fast = forward(k, avx512: true), portable = forward(k, avx512: false)
            XCTAssertEqual(fast.count, portable.count, "\(k)")
            let first = portable.indices.first { fast[$0].bitPattern != portable[$0].bitPattern }
            XCTAssertNil(first.map { "y[\($0)] = \(fast[$0]), portable \(portable[$0])" }, "forward \(k)")
        }
    }

    /// The channels-last kernel writing the projection GEMM's strips (`stpm_depthwise_nhwc_strips_avx512`), per
    /// image of every case (channels rounded up to whole vectors: 16 and 32), against the portable planar
    /// forward: the same floats at every output; lanes of the last strip past the outputs stay as they were.
    /// With a scale (BatchNorm in eval mode), against the channels-last kernel's own channels-last output.
    func testStripsAgreeWithPortableKernels() throws {
        guard InstructionSet.available else { throw XCTSkip("no AVX-512 on this machine") }
        let nr = Int(STPM_SGEMM_NR)
        for var k in cases() {
            k.c = (k.c + 15) / 16 * 16
            let portable = forward(k, avx512: false)
            let (conv, x, drawn) = layer(k)
            var rng = drawn
            let g = conv.geometry(x)
            let positions = g.oh * g.ow, c = k.c
            let taps = (0..<k.kernel * k.kernel * c).map { i in conv.weight.value[i % c * k.kernel * k.kernel + i / c] }
            let scale = (0..<c).map { _ in rng.uniform(0.5, 2) }
            let shape = stpm_depthwise_shape(h: Int32(k.h), w: Int32(k.w), k: Int32(k.kernel), stride: Int32(k.stride),
                                             pad_top: Int32(g.pad.top), pad_left: Int32(g.pad.left), oh: Int32(g.oh),
                                             ow: Int32(g.ow))
            for image in 0..<k.n {
                // x's image channels last.
                var nhwc = [Float](repeating: 0, count: k.h * k.w * c)
                for ch in 0..<c { for p in 0..<k.h * k.w { nhwc[p * c + ch] = x.data[(ch * k.n + image) * k.h * k.w + p] } }
                let bias = conv.bias.map { Array(UnsafeBufferPointer(start: $0.value, count: c)) }
                for scaled in [false, true] {
                    let sentinel: Float = 4321
                    var strips = [Float](repeating: sentinel, count: stpm_sgemm_b_strips_floats(c, positions))
                    var last = [Float](repeating: 0, count: positions * c)
                    let s = scaled ? scale : nil
                    stpm_depthwise_nhwc_strips_avx512(nhwc, taps, bias, s, k.activation.kernelCode, &strips, c, shape)
                    if scaled { stpm_depthwise_nhwc_avx512(nhwc, taps, bias, s, k.activation.kernelCode, &last, c, shape) }
                    for ch in 0..<c {
                        for p in 0..<(positions + nr - 1) / nr * nr {
                            let got = strips[p / nr * c * nr + ch * nr + p % nr]
                            let want = p >= positions ? sentinel
                                : scaled ? last[p * c + ch] : portable[(ch * k.n + image) * positions + p]
                            guard got.bitPattern == want.bitPattern else {
                                XCTFail("\(k) scaled \(scaled), image \(image): channel \(ch), position \(p) = \(got), expected \(want)")
                                return
                            }
                        }
                    }
                }
            }
        }
    }

    /// (y, dL/dx, dL/dw) of a train-mode chain BatchNorm -> activation -> depthwise convolution -> BatchNorm
    /// -> activation, the depthwise convolution reading its input through the first BatchNorm
    /// (`NormalizedTensor`) and its dL/dy through the second (`BatchNormGradient`) when `mapped`, and from
    /// tensors written by the BatchNorms' own passes otherwise. dL/dx is the gradient at the first BatchNorm's
    /// output; the BatchNorms' inputs are the random x and the convolution's output.
    func mappedChain(_ k: Case, avx512: Bool, mapped: Bool) -> ([Float], [Float], [Float]) {
        InstructionSet.with(avx512: avx512) {
            var rng = SplitMix64(label: "mapped " + k.description)
            let conv = Conv2d(name: "dw", inChannels: k.c, outChannels: k.c, kernel: k.kernel, stride: k.stride,
                              padding: k.padding, groups: k.c)
            conv.weight.randomize(&rng)
            let bn = [BatchNorm2d(name: "in", channels: k.c), BatchNorm2d(name: "out", channels: k.c)]
            for b in bn {
                b.training = true
                b.weight.randomize(&rng) { $0.uniform(0.5, 3) }
                b.bias.randomize(&rng) { $0.uniform(-1, 4) }
            }
            let x = Tensor.random(c: k.c, n: k.n, h: k.h, w: k.w, &rng), ws = Workspace()
            let g = conv.geometry(x)
            let dy = Tensor.random(c: k.c, n: k.n, h: g.oh, w: g.ow, &rng)
            if mapped {
                bn[0].statistics(x)
                let input = NormalizedTensor(x, bn[0], k.activation)
                let z = conv.forward(normalized: input, ws).copy()
                bn[1].statistics(z)
                bn[1].weight.enableGrad(); bn[1].bias.enableGrad()
                for c in 0..<k.c { bn[1].gradientSums(channel: c, z, dy, activation: k.activation) }
                let dx = conv.backward(x, normalized: input, dy, gradient: BatchNormGradient(z: z, bn: bn[1], activation: k.activation), ws,
                                       needInputGrad: true)
                return (z.array, dx.array, conv.weight.gradients)
            }
            let a = bn[0].forward(x, activation: k.activation)
            let z = conv.forward(a, ws).copy()
            bn[1].forward(z, activation: k.activation)
            let dz = bn[1].backward(z, dy, activation: k.activation)
            let dx = conv.backward(a, dz, ws, needInputGrad: true)
            return (z.array, dx.array, conv.weight.gradients)
        }
    }

    func outputPlane(_ k: Case) -> Int {
        let g = Conv2d(name: "dw", inChannels: k.c, outChannels: k.c, kernel: k.kernel, stride: k.stride, padding: k.padding,
                       groups: k.c).geometry(c: k.c, n: k.n, h: k.h, w: k.w)
        return g.oh * g.ow
    }

    /// Reading through the BatchNorms changes no float on either path, and the AVX-512 kernels agree with the
    /// portable ones as unmapped (ragged shapes, every activation: the padding must stay zero after the map,
    /// and the masked-off tail of a row of dy must stay zero after BatchNorm's gradient).
    func testMappedReadsAgreeWithWrittenTensors() throws {
        guard InstructionSet.available else { throw XCTSkip("no AVX-512 on this machine") }
        // A depthwise convolution (one channel is a dense one) whose BatchNorms have two values per channel.
        for k in cases() where k.c > 1 && k.n * k.h * k.w > 1 && k.n * outputPlane(k) > 1 {
            let (fy, fdx, fdw) = mappedChain(k, avx512: true, mapped: true), (py, pdx, pdw) = mappedChain(k, avx512: false, mapped: true)
            for (avx512, mapped) in [(true, (fy, fdx, fdw)), (false, (py, pdx, pdw))] {
                let written = mappedChain(k, avx512: avx512, mapped: false)
                for (name, a, b) in [("y", mapped.0, written.0), ("dx", mapped.1, written.1), ("dw", mapped.2, written.2)] {
                    XCTAssertEqual(a.count, b.count, "\(name) \(k)")
                    let first = a.indices.first { a[$0].bitPattern != b[$0].bitPattern }
                    XCTAssertNil(first.map { "\(name)[\($0)] = \(a[$0]), written \(b[$0])" }, "avx512 \(avx512) \(k)")
                }
            }
            XCTAssertEqual(fy.map(\.bitPattern), py.map(\.bitPattern), "y \(k)")
            let first = pdx.indices.first { fdx[$0] != pdx[$0] }
            XCTAssertNil(first.map { "dx[\($0)] = \(fdx[$0]), portable \(pdx[$0])" }, "mapped backward \(k)")
            let scale = pdw.map(abs).max() ?? 0
            for i in pdw.indices {
                XCTAssertLessThanOrEqual(abs(fdw[i] - pdw[i]), 1e-5 * max(scale, 1), "dw[\(i)] = \(fdw[i]), portable \(pdw[i]), \(k)")
            }
        }
    }
}
