import XCTest
@testable import Numerics

/// A residual block's last unit and its projection write their convolution outputs into tensors the block
/// lends (`ConvUnit.forwardIntoJoin(_:_:into:convolving:)`) and recompute them for the backward pass. Training
/// results may not move: the lent output, its recomputation after the tensor was overwritten, the join and
/// every gradient must equal, bit for bit, those of a unit that keeps its convolution's output, on both
/// kernel sets, split between two threads. The join may also write over its side in place.
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

        let dy = Tensor.random(c: s.o, n: 3, h: lent.h, w: lent.w, &rng)
        let dxLending = lending.backward(x, dy.copy(), ws, needInputGrad: true, into: Tensor(c: 0, n: 0, h: 0, w: 0)).copy()
        let dxKeeping = keeping.backward(x, dy.copy(), ws, needInputGrad: true, into: Tensor(c: 0, n: 0, h: 0, w: 0))
        XCTAssertEqual(differing(dxLending, dxKeeping), 0, "\(label): dL/dx differs")
        for (a, b) in zip(lending.parameters, keeping.parameters) {
            let d = zip(a.gradients, b.gradients).filter { $0.bitPattern != $1.bitPattern }.count
            XCTAssertEqual(d, 0, "\(label): \(a.name)'s gradient differs")
        }
    }

    func differing(_ a: Tensor, _ b: Tensor) -> Int {
        guard a.sameShape(b) else { return max(a.count, b.count, 1) }
        return zip(a.array, b.array).filter { $0.bitPattern != $1.bitPattern }.count
    }
}
