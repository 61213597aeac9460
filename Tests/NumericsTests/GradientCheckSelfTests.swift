import XCTest
@testable import Numerics

/// The checker must be able to fail: gradients with plausible bugs planted in them have to come out
/// far above the tolerances the layer checks use.
final class GradientCheckSelfTests: XCTestCase {
    let check = GradientCheck(h: 1e-2, tolerance: 2e-4)

    func conv(_ rng: inout SplitMix64) -> (Conv2d, Tensor) {
        let conv = Conv2d(name: "conv", inChannels: 3, outChannels: 4, kernel: 3, stride: 2, padding: .tfSame, bias: true)
        conv.weight.randomize(&rng)
        conv.bias!.randomize(&rng)
        return (conv, Tensor.random(c: 3, n: 2, h: 6, w: 6, &rng))
    }

    /// An off-by-one in the asymmetric padding: the last output row is left out of the backward pass.
    func testDetectsDroppedBorderRow() {
        var rng = SplitMix64(label: "self-border")
        let (conv, x) = conv(&rng)
        let ws = Workspace()
        let errors = check.measure(forward: { conv.forward(x, ws) }, backward: { dy in
            for c in 0..<dy.c { for n in 0..<dy.n { for col in 0..<dy.w { dy[c, n, dy.h - 1, col] = 0 } } }
            conv.backward(x, dy, ws, needInputGrad: true)
        }, probes: [Probe("input", input: x) { conv.inputGrad }, Probe(conv.weight), Probe(conv.bias!)])
        for (name, e) in errors { XCTAssertGreaterThan(e, 100 * check.tolerance, "\(name) should be flagged") }
    }

    /// A gradient 1% too large everywhere (say, a wrong normalising count) is still caught.
    func testDetectsOnePercentScaleError() {
        var rng = SplitMix64(label: "self-scale")
        let (conv, x) = conv(&rng)
        let ws = Workspace()
        let errors = check.measure(forward: { conv.forward(x, ws) }, backward: { dy in
            conv.backward(x, dy, ws, needInputGrad: true)
            for i in 0..<conv.weight.count { conv.weight.grad![i] *= 1.01 }
        }, probes: [Probe(conv.weight)])
        XCTAssertGreaterThan(errors[0].error, 10 * check.tolerance)
    }
}
