import XCTest
@testable import Numerics

/// BatchNorm2d (train mode) and ChannelNormalize: nonlinear, so the step is small and the tolerance
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

    func testChannelNormalize() {
        var rng = SplitMix64(label: "normalize")
        let norm = ChannelNormalize()
        let x = Tensor.random(c: 5, n: 2, h: 3, w: 3, &rng)
        GradientCheck(h: 1e-3, tolerance: 1e-3).assertMatches(
            "channel-normalize", forward: { norm.forward(x) }, backward: { norm.backward($0) },
            probes: [Probe("input", input: x) { norm.inputGrad }])
    }
}
