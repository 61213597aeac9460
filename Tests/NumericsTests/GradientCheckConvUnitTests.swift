import XCTest
@testable import Numerics

/// A student's ConvUnit (conv, train-mode BatchNorm, ReLU6) end to end: the chain rule across the
/// three backward passes, including the in-place masking of dy before BatchNorm reads it.
final class GradientCheckConvUnitTests: XCTestCase {
    func checkUnit(_ label: String, channels: (in: Int, out: Int), kernel: Int, stride: Int,
                   padding: Conv2d.PaddingMode, depthwise: Bool = false) {
        var rng = SplitMix64(label: label)
        let unit = ConvUnit(name: "conv", bnName: "bn", trainable: true, inChannels: channels.in, outChannels: channels.out,
                            kernel: kernel, stride: stride, padding: padding, groups: depthwise ? channels.in : 1,
                            activation: .relu6)
        unit.setTraining(true)
        let bn = unit.bn!
        unit.conv.weight.randomize(&rng)
        // Shifted up so most outputs are inside (0, 6) yet some clip at 0 and, with gamma up to 3, at 6.
        bn.weight.randomize(&rng) { $0.uniform(1, 3) }
        bn.bias.randomize(&rng) { $0.uniform(1, 4) }
        let ws = Workspace()

        // A difference straddling a ReLU6 kink is meaningless, so inputs are redrawn until every
        // pre-activation is clear of 0 and 6 by 0.03 (a step of 3e-3 moves it by less than 0.01)
        // while some still clip on each side, or the mask would go untested.
        func acceptable(_ x: Tensor) -> Bool {
            unit.conv.forward(x, ws)
            let z = bn.forward(unit.conv.output).array
            return z.allSatisfy { min(abs($0), abs($0 - 6)) > 0.03 } && z.contains { $0 < 0 } && z.contains { $0 > 6 }
        }
        var x = Tensor.random(c: channels.in, n: 2, h: 4, w: 4, &rng)
        var draws = 1
        while !acceptable(x) && draws < 200 {
            x = Tensor.random(c: channels.in, n: 2, h: 4, w: 4, &rng)
            draws += 1
        }
        XCTAssertTrue(acceptable(x), "\(label): no input clear of the ReLU6 kinks in \(draws) draws")

        GradientCheck(h: 3e-3, tolerance: 1e-3).assertMatches(
            label, forward: { unit.forward(x, ws) },
            backward: { unit.backward(x, $0, ws, needInputGrad: true) },
            probes: [Probe("input", input: x) { unit.conv.inputGrad }, Probe(unit.conv.weight), Probe(bn.weight), Probe(bn.bias)])
    }

    func testDenseUnit() {
        checkUnit("unit-dense3x3", channels: (3, 4), kernel: 3, stride: 1, padding: .fixed(.symmetric(1)))
    }

    func testDepthwiseUnit() {
        checkUnit("unit-dw3x3s2", channels: (4, 4), kernel: 3, stride: 2, padding: .tfSame, depthwise: true)
    }
}
