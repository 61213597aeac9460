import XCTest
@testable import Numerics

/// BatchNorm2d (train mode): nonlinear, so the step is small and the tolerance
/// covers the h^2 truncation error as well as rounding.
final class GradientCheckNormalizationTests: XCTestCase {
    /// Every output depends on the whole channel through the batch mean and variance, so the check
    /// covers the cross terms of dL/dx, not just the per-element scale.
    func testBatchNormTrainMode() {
        var rng = SplitMix64(label: "batchnorm")
        let bn = BatchNorm2d(name: "bn", channels: 3)
        bn.training = true
        bn.weight.randomize(&rng) { $0.uniform(0.5, 1.5) }
        bn.bias.randomize(&rng)
        // Offset, scaled channels: the mean subtraction and 1/std have real work to do.
        let x = Tensor.random(c: 3, n: 3, h: 3, w: 4, &rng) { 2 + 3 * $0.normal() }
        GradientCheck(h: 1e-2, tolerance: 1e-3).assertMatches(
            "batchnorm", forward: { bn.forward(x) }, backward: { bn.backward(x, $0) },
            probes: [Probe("input", input: x) { bn.inputGrad }, Probe(bn.weight), Probe(bn.bias)])
    }

    /// BatchNorm with ReLU6 folded into its passes, its gradient written over dy: against finite differences
    /// of the activated output (the mask recomputed from x must be the forward's), and equal to the
    /// unfused chain (activation's own backward on the stored output, then BatchNorm's) on the same dy.
    func testBatchNormWithActivationInPlace() {
        var rng = SplitMix64(label: "batchnorm-relu6")
        let bn = BatchNorm2d(name: "bn", channels: 3)
        bn.training = true
        bn.weight.randomize(&rng) { $0.uniform(1, 3) }
        bn.bias.randomize(&rng) { $0.uniform(1, 4) }
        // Drawn until every pre-activation is clear of the kinks at 0 and 6 yet some clip on each side.
        func acceptable(_ x: Tensor) -> Bool {
            let y = bn.forward(x).array
            return y.allSatisfy { min(abs($0), abs($0 - 6)) > 0.05 } && y.contains { $0 < 0 } && y.contains { $0 > 6 }
        }
        var x = Tensor.random(c: 3, n: 3, h: 3, w: 4, &rng) { 2 + 3 * $0.normal() }
        for _ in 0..<500 where !acceptable(x) { x = Tensor.random(c: 3, n: 3, h: 3, w: 4, &rng) { 2 + 3 * $0.normal() } }
        XCTAssertTrue(acceptable(x))
        let dx = Tensor(c: 0, n: 0, h: 0, w: 0)
        GradientCheck(h: 1e-2, tolerance: 1e-3).assertMatches(
            "batchnorm-relu6", forward: { bn.forward(x, activation: .relu6) },
            backward: { dy in
                bn.backward(x, dy, into: dy, activation: .relu6)
                dx.resize(c: dy.c, n: dy.n, h: dy.h, w: dy.w)
                dx.data.update(from: dy.data, count: dy.count)
            },
            probes: [Probe("input", input: x) { dx }, Probe(bn.weight), Probe(bn.bias)])

        let dy = Tensor.random(c: 3, n: 3, h: 3, w: 4, &rng)
        let y = bn.forward(x, into: Tensor(c: 0, n: 0, h: 0, w: 0), activation: .relu6)
        let masked = Tensor(c: 3, n: 3, h: 3, w: 4)
        masked.data.update(from: dy.data, count: dy.count)
        Activation.relu6.backward(output: y, grad: masked)
        let unfused = bn.backward(x, masked).array
        let fused = bn.backward(x, dy, into: dy, activation: .relu6).array
        for (a, b) in zip(fused, unfused) { XCTAssertEqual(a, b, accuracy: 1e-6 * max(1, abs(b))) }
    }
}
