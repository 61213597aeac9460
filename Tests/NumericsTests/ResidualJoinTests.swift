import XCTest
@testable import Numerics

/// A residual block's last unit in inference joins the shortcut as it writes its output (the GEMM's
/// epilogue, or one pass after the Winograd transform). It must give, bit for bit, what the unit followed
/// by a separate `ResidualAdd` gives, frozen (a bias) and in eval mode (a folded BatchNorm), on every
/// algorithm and on both kernel sets, split between two threads. Where the convolution may write over its
/// residual (`Conv2d.joinsInPlace`: a 1x1 on the AVX-512 GEMM with one pass of depth), doing so gives the same.
final class ResidualJoinTests: XCTestCase {
    struct Shape { var label: String, c: Int, o: Int, kernel: Int, stride: Int, padding: Conv2d.PaddingMode }

    let shapes = [
        Shape(label: "pointwise", c: 40, o: 33, kernel: 1, stride: 1, padding: .fixed(.none)),
        // Deeper than one GEMM pass (STPM_SGEMM_KC = 384): the first pass's partial sums would overwrite the residual.
        Shape(label: "pointwise deep", c: 400, o: 20, kernel: 1, stride: 1, padding: .fixed(.none)),
        Shape(label: "im2col 1x1 s2", c: 24, o: 37, kernel: 1, stride: 2, padding: .fixed(.none)),
        Shape(label: "im2col 3x3 s2", c: 5, o: 17, kernel: 3, stride: 2, padding: .tfSame),
        Shape(label: "winograd 3x3", c: 16, o: 20, kernel: 3, stride: 1, padding: .fixed(.symmetric(1))),
    ]

    func testJoinedUnitEqualsUnitThenResidualAdd() {
        onEachKernelSetWithTwoThreads { avx512 in
            for shape in shapes {
                for trainable in [false, true] {
                    for activation in [Activation.relu, .relu6, .identity] { check(shape, trainable: trainable, activation, avx512: avx512) }
                }
            }
        }
    }

    /// A unit at inference writes into the tensor it is given, frozen (whose ordinary forward keeps its own
    /// output) or in eval mode, the same bits as its ordinary forward.
    func testInferringIntoWritesTheGivenTensor() {
        for trainable in [false, true] {
            var rng = SplitMix64(label: "inferring into \(trainable)")
            let unit = ConvUnit(name: "conv", bnName: "bn", trainable: trainable, inChannels: 6, outChannels: 9, kernel: 3,
                                padding: .fixed(.symmetric(1)), activation: .relu)
            unit.randomizeForInference(&rng)
            let x = Tensor.random(c: 6, n: 2, h: 11, w: 13, &rng) { $0.uniform(-2, 2) }
            let ws = Workspace()
            let expected = unit.forward(x, ws).array
            let target = Tensor(c: 0, n: 0, h: 0, w: 0)
            XCTAssert(unit.forward(x, ws, inferringInto: target) === target && unit.output === target, "trainable \(trainable)")
            XCTAssertEqual(target.array.map(\.bitPattern), expected.map(\.bitPattern), "trainable \(trainable)")
            XCTAssert(expected.contains { $0 > 0 } && expected.contains { $0 == 0 })
        }
    }

    func check(_ s: Shape, trainable: Bool, _ activation: Activation, avx512: Bool) {
        var rng = SplitMix64(label: s.label)
        let unit = ConvUnit(name: "conv", bnName: "bn", trainable: trainable, inChannels: s.c, outChannels: s.o, kernel: s.kernel,
                            stride: s.stride, padding: s.padding, activation: .identity)
        unit.randomizeForInference(&rng)
        XCTAssert(unit.infers)
        // 34 x 30 at batch 3: ragged Winograd tiles, and outputs large enough to split between the threads.
        let x = Tensor.random(c: s.c, n: 3, h: 34, w: 30, &rng) { $0.uniform(-2, 2) }
        let ws = Workspace()
        let g = unit.conv.geometry(x)
        if s.label.hasPrefix("winograd") {
            XCTAssert(unit.conv.admitsWinograd(g) && unit.conv.preferredAlgorithm(g) == .winograd)
        }
        let shortcut = Tensor.random(c: s.o, n: 3, h: g.oh, w: g.ow, &rng) { $0.uniform(-3, 3) }

        let joined = unit.forward(x, ws, adding: shortcut, activation: activation, into: Tensor(c: 0, n: 0, h: 0, w: 0)).array
        let join = ResidualAdd(activation: activation)
        let expected = join.forward(ResidualAdd.Side(unit.forward(x, ws)), ResidualAdd.Side(shortcut)).array
        XCTAssertEqual(joined.count, expected.count)
        let differing = zip(joined, expected).filter { $0.bitPattern != $1.bitPattern }.count
        XCTAssertEqual(differing, 0, "\(s.label) trainable \(trainable) \(activation) avx512 \(avx512): \(differing) of \(joined.count) differ")
        XCTAssert(expected.contains { $0 > 0 } && (activation == .identity || expected.contains { $0 == 0 }),
                  "\(s.label): the activation is exercised")

        XCTAssertEqual(unit.conv.joinsInPlace, avx512 && s.label == "pointwise", s.label)
        guard unit.conv.joinsInPlace else { return }
        let inPlace = Tensor(c: shortcut.c, n: shortcut.n, h: shortcut.h, w: shortcut.w)
        inPlace.data.update(from: shortcut.data, count: shortcut.count)
        let written = unit.forward(x, ws, adding: inPlace, activation: activation, into: inPlace)
        XCTAssert(written === inPlace)
        let overwritten = zip(inPlace.array, expected).filter { $0.bitPattern != $1.bitPattern }.count
        XCTAssertEqual(overwritten, 0, "\(s.label) in place, trainable \(trainable) \(activation): \(overwritten) of \(expected.count) differ")
    }
}
