import XCTest
@testable import Numerics

/// A residual block's last unit and its projection write their convolution outputs into tensors the block
/// lends (`ConvUnit.forwardIntoJoin(_:_:into:convolving:)`) and recompute them for the backward pass. Training
/// results may not move: the lent output, its recomputation after the tensor was overwritten, the join and
/// every gradient must equal, bit for bit, those of a unit that keeps its convolution's output, on both
/// kernel sets, split between two threads, also with BatchNorm's gradient written over the recomputed
/// output. The join may write over its side in place, and its backward mask into another tensor.
final class RecomputedConvolutionTests: XCTestCase {
    struct Shape { var label: String, c: Int, o: Int, stride: Int }

    /// A bottleneck's branch2c (pointwise) and its projections (pointwise, and strided: im2col by bands).
    let shapes = [
        Shape(label: "pointwise", c: 24, o: 40, stride: 1),
        Shape(label: "im2col 1x1 s2", c: 20, o: 36, stride: 2),
    ]

    func testRecomputedConvolutionEqualsKeptConvolution() {
        onEachKernelSetWithTwoThreads { avx512 in
            for shape in shapes { check(shape, avx512: avx512) }
        }
    }

    func check(_ s: Shape, avx512: Bool) {
        let label = "\(s.label) avx512 \(avx512)"
        var rng = SplitMix64(label: s.label)
        func unit() -> ConvUnit {
            ConvUnit(name: "conv", bnName: "bn", trainable: true, inChannels: s.c, outChannels: s.o, kernel: 1, stride: s.stride,
                     padding: .fixed(.none), activation: .identity)
        }
        let (lending, keeping) = (unit(), unit())
        lending.conv.weight.randomize(&rng)
        lending.bn!.weight.randomize(&rng) { $0.uniform(0.5, 2) }
        lending.bn!.bias.randomize(&rng) { $0.uniform(-1, 1) }
        for (a, b) in zip(lending.parameters, keeping.parameters) { b.value.update(from: a.value, count: a.count) }
        for u in [lending, keeping] { u.setTraining(true) }
        let x = Tensor.random(c: s.c, n: 3, h: 18, w: 14, &rng)
        let ws = Workspace(), lent = Tensor(c: 0, n: 0, h: 0, w: 0), unused = Tensor(c: 0, n: 0, h: 0, w: 0)

        let side = lending.forwardIntoJoin(x, ws, into: unused, convolving: lent)
        let kept = keeping.forwardIntoJoin(x, ws, into: unused)
        XCTAssert(side.x === lent && kept.x === keeping.conv.output, "\(label): where the convolution output went")
        XCTAssertEqual(differing(lent, keeping.conv.output), 0, "\(label): the lent output differs")
        let shortcut = Tensor.random(c: s.o, n: 3, h: lent.h, w: lent.w, &rng)
        let joined = ResidualAdd(activation: .relu).forward(side, ResidualAdd.Side(shortcut)).copy()

        // The join writing over its side, as a projection's convolution lent the join's output does.
        let inPlace = ResidualAdd(activation: .relu)
        inPlace.output.resize(c: lent.c, n: lent.n, h: lent.h, w: lent.w)
        inPlace.output.data.update(from: keeping.conv.output.data, count: lent.count)
        inPlace.forward(ResidualAdd.Side(shortcut), ResidualAdd.Side(inPlace.output, normalizedBy: keeping.bn))
        XCTAssertEqual(differing(inPlace.output, joined), 0, "\(label): the join in place differs")

        let forwarded = lent.copy()
        lent.data.update(repeating: .nan, count: lent.count)
        lending.recomputeConvolution(from: x, ws)
        XCTAssertEqual(differing(lent, forwarded), 0, "\(label): the recomputed output differs")

        // The join's mask written into another tensor, and the lending unit's BatchNorm gradient written over
        // its own input (a bottleneck's 2c), which leaves dy as it was for the shortcut.
        let incoming = Tensor.random(c: s.o, n: 3, h: lent.h, w: lent.w, &rng)
        let dy = Tensor(c: 0, n: 0, h: 0, w: 0)
        inPlace.backward(incoming, into: dy)
        let maskedInPlace = incoming.copy()
        inPlace.backward(maskedInPlace)
        XCTAssertEqual(differing(dy, maskedInPlace), 0, "\(label): the mask into another tensor differs")
        XCTAssert(dy.array.contains(0) && dy.array.contains { $0 != 0 }, "\(label): the mask is exercised")
        let given = dy.copy()
        let dxLending = lending.backward(x, dy, ws, needInputGrad: true, into: Tensor(c: 0, n: 0, h: 0, w: 0),
                                         keepingDy: lending.convolved).copy()
        XCTAssertEqual(differing(dy, given), 0, "\(label): dy was not kept")
        let dxKeeping = keeping.backward(x, dy.copy(), ws, needInputGrad: true, into: Tensor(c: 0, n: 0, h: 0, w: 0))
        XCTAssertEqual(differing(dxLending, dxKeeping), 0, "\(label): dL/dx differs")
        for (a, b) in zip(lending.parameters, keeping.parameters) {
            let d = zip(a.gradients, b.gradients).filter { $0.bitPattern != $1.bitPattern }.count
            XCTAssertEqual(d, 0, "\(label): \(a.name)'s gradient differs")
        }
    }

    /// An identity bottleneck's 2a adds its dL/dx onto the masked dy in its GEMM instead of a pass of
    /// `addInPlace` after it: the same floats at the bottlenecks' widths (32 to 128 outputs, the GEMM's depth:
    /// one pass of at most STPM_SGEMM_KC, so C is added once, to the finished sum).
    func testPointwiseInputGradientAddedInTheGemmEqualsASeparateAdd() {
        onEachKernelSetWithTwoThreads { avx512 in
            for outChannels in [32, 128] {
                var rng = SplitMix64(label: "adding \(outChannels)")
                let conv = Conv2d(name: "conv", inChannels: 48, outChannels: outChannels, kernel: 1, padding: .fixed(.none))
                conv.weight.randomize(&rng)
                let x = Tensor.random(c: 48, n: 3, h: 18, w: 14, &rng), ws = Workspace()
                let dy = Tensor.random(c: outChannels, n: 3, h: 18, w: 14, &rng), onto = Tensor.random(c: 48, n: 3, h: 18, w: 14, &rng)
                let added = onto.copy()
                conv.backward(x, dy, ws, into: added, adding: true)
                let separate = conv.backward(x, dy, ws, into: Tensor(c: 0, n: 0, h: 0, w: 0))
                addInPlace(separate, onto)
                XCTAssertEqual(differing(added, separate), 0, "\(outChannels) outputs avx512 \(avx512)")
            }
        }
    }

    /// The activation's mask, in place and into another tensor, against the scalar rule on a ragged count
    /// (vectors of eight and a tail, split between two threads).
    func testActivationMaskMatchesTheScalarRule() {
        onEachKernelSetWithTwoThreads { _ in
            var rng = SplitMix64(label: "mask")
            let y = Tensor.random(c: 1, n: 1, h: 1, w: 1007, &rng) { $0.uniform(-2, 8) }
            let g = Tensor.random(c: 1, n: 1, h: 1, w: 1007, &rng)
            for activation in [Activation.relu, .relu6] {
                let expected = zip(y.array, g.array).map { y, g in
                    activation == .relu ? (y > 0 ? g : 0) : (y > 0 && y < 6 ? g : 0)
                }
                let into = Tensor(c: 0, n: 0, h: 0, w: 0), inPlace = g.copy()
                activation.backward(output: y, grad: g, into: into)
                activation.backward(output: y, grad: inPlace)
                for (t, label) in [(into, "into"), (inPlace, "in place")] {
                    let d = zip(t.array, expected).filter { $0.bitPattern != $1.bitPattern }.count
                    XCTAssertEqual(d, 0, "\(activation) \(label)")
                }
                XCTAssert(Array(expected.suffix(7)).contains(0) && Array(expected.suffix(7)).contains { $0 != 0 }, "the tail is masked")
            }
        }
    }

    func differing(_ a: Tensor, _ b: Tensor) -> Int {
        guard a.sameShape(b) else { return max(a.count, b.count, 1) }
        return zip(a.array, b.array).filter { $0.bitPattern != $1.bitPattern }.count
    }
}
