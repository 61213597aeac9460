import XCTest
@testable import Numerics

/// A ConvUnit in eval mode folds its BatchNorm and activation into the convolution's output epilogue.
/// It must give, bit for bit, what the three passes give (convolution, eval BatchNorm, activation) on
/// every algorithm a convolution can take (1x1 GEMM, im2col GEMM, Winograd, depthwise) and on both
/// kernel sets: the fused epilogue rounds as the passes do (multiply, then add).
final class BatchNormFoldTests: XCTestCase {
    struct Shape { var label: String, c: Int, o: Int, kernel: Int, stride: Int, padding: Conv2d.PaddingMode, depthwise = false }

    let shapes = [
        Shape(label: "pointwise", c: 19, o: 33, kernel: 1, stride: 1, padding: .fixed(.none)),
        Shape(label: "im2col 3x3 s2", c: 5, o: 17, kernel: 3, stride: 2, padding: .tfSame),
        Shape(label: "winograd 3x3", c: 16, o: 20, kernel: 3, stride: 1, padding: .fixed(.symmetric(1))),
        Shape(label: "depthwise 3x3", c: 12, o: 12, kernel: 3, stride: 1, padding: .tfSame, depthwise: true),
    ]

    func testEvalUnitEqualsConvThenBatchNormThenActivation() {
        for avx512 in [true, false] {
            for shape in shapes {
                for activation in [Activation.identity, .relu, .relu6] {
                    InstructionSet.with(avx512: avx512) { check(shape, activation, avx512: avx512) }
                }
            }
        }
    }

    func check(_ s: Shape, _ activation: Activation, avx512: Bool) {
        var rng = SplitMix64(label: s.label)
        let unit = ConvUnit(name: "conv", bnName: "bn", trainable: true, inChannels: s.c, outChannels: s.o, kernel: s.kernel,
                            stride: s.stride, padding: s.padding, groups: s.depthwise ? s.c : 1, activation: activation)
        unit.setTraining(false)
        let bn = unit.bn!
        unit.conv.weight.randomize(&rng)
        bn.weight.randomize(&rng) { $0.uniform(0.5, 3) }
        bn.bias.randomize(&rng) { $0.uniform(-1, 4) }
        bn.runningMean.randomize(&rng) { $0.uniform(-1, 1) }
        bn.runningVar.randomize(&rng) { $0.uniform(0.2, 2) }
        // 32 x 32 at batch 3: Winograd is the preferred algorithm, and every output is large enough for
        // the passes to split its channels between threads.
        let x = Tensor.random(c: s.c, n: 3, h: 32, w: 32, &rng) { $0.uniform(-2, 2) * 2 }
        let ws = Workspace()
        if s.label.hasPrefix("winograd") {
            XCTAssert(unit.conv.admitsWinograd(unit.conv.geometry(x)) && unit.conv.preferredAlgorithm(unit.conv.geometry(x)) == .winograd)
        }

        let fused = unit.forward(x, ws).array
        unit.conv.forward(x, ws)
        let passes = bn.forward(unit.conv.output)
        activation.forward(passes)
        let expected = passes.array
        XCTAssertEqual(fused.count, expected.count)
        let differing = zip(fused, expected).filter { $0.bitPattern != $1.bitPattern }.count
        XCTAssertEqual(differing, 0, "\(s.label) \(activation) avx512 \(avx512): \(differing) of \(fused.count) outputs differ")
        XCTAssert(expected.contains { $0 > 0 } && (activation == .identity || expected.contains { $0 == 0 }),
                  "\(s.label): the activation is exercised")
    }
}
