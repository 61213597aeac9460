import XCTest
@testable import Numerics

/// A student's ConvUnit (conv, train-mode BatchNorm, ReLU6) end to end: the chain rule across the
/// three backward passes, including the in-place masking of dy before BatchNorm reads it.
final class GradientCheckConvUnitTests: XCTestCase {
    /// A batch of two inputs redrawn until `acceptable` (at most `tries` draws; failing the test if none is).
    func draw(c: Int, h: Int, w: Int, tries: Int, _ rng: inout SplitMix64, label: String, until acceptable: (Tensor) -> Bool) -> Tensor {
        var x = Tensor.random(c: c, n: 2, h: h, w: w, &rng)
        var draws = 1
        while !acceptable(x) && draws < tries {
            x = Tensor.random(c: c, n: 2, h: h, w: w, &rng)
            draws += 1
        }
        XCTAssertTrue(acceptable(x), "\(label): no input clear of the ReLU6 kinks in \(draws) draws")
        return x
    }

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
        let x = draw(c: channels.in, h: 4, w: 4, tries: 200, &rng, label: label, until: acceptable)

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

    /// A unit whose output only a ReLU join reads (a residual block's last, `forwardIntoJoin`), its backward pass
    /// masking the join's gradient channel by channel as its BatchNorm reads it (`masking`): into a tensor of its own
    /// (a bottleneck with an identity shortcut) and in place (a basic block). The shortcut's gradient is the masked
    /// gradient the unit leaves.
    func testUnitMaskingItsJoinsGradient() {
        for inPlace in [false, true] {
            let label = "unit-join-mask-\(inPlace)"
            var rng = SplitMix64(label: label)
            let unit = ConvUnit(name: "conv", bnName: "bn", trainable: true, inChannels: 3, outChannels: 4, kernel: 3,
                                padding: .fixed(.symmetric(1)), activation: .identity)
            unit.setTraining(true)
            unit.conv.weight.randomize(&rng)
            unit.bn!.weight.randomize(&rng) { $0.uniform(1, 3) }
            unit.bn!.bias.randomize(&rng)
            let ws = Workspace(), join = ResidualAdd(activation: .relu)
            let own = Tensor(c: 0, n: 0, h: 0, w: 0), kept = Tensor(c: 0, n: 0, h: 0, w: 0)
            let x = Tensor.random(c: 3, n: 2, h: 4, w: 4, &rng)
            // The shortcut puts every sum 0.1 to 2 from the ReLU's kink, on either side: a difference straddling it is meaningless.
            let normalized = unit.bn!.forward(unit.conv.forward(x, ws)).array
            let shortcut = Tensor.random(c: 4, n: 2, h: 4, w: 4, &rng) { $0.awayFromZero(0.1, 2) }
            for i in 0..<shortcut.count { shortcut.data[i] -= normalized[i] }
            var masked: Tensor?
            GradientCheck(h: 3e-3, tolerance: 1e-3).assertMatches(
                label, forward: { join.forward(unit.forwardIntoJoin(x, ws, into: own), .init(shortcut)) },
                backward: { dy in
                    masked = inPlace ? dy : own
                    unit.backward(x, masked!, ws, needInputGrad: true, keepingDy: kept, masking: join.pendingMask(dy))
                },
                probes: [Probe("input", input: x) { unit.conv.inputGrad }, Probe(unit.conv.weight), Probe(unit.bn!.weight),
                         Probe(unit.bn!.bias), Probe("shortcut", input: shortcut) { masked! }])
        }
    }

    /// An inverted residual's expansion (1x1, BatchNorm, ReLU6) and depthwise unit (3x3 stride 2, BatchNorm,
    /// ReLU6) as a training block runs them: the depthwise unit normalises and activates the expansion's
    /// convolution output as it reads it (`ConvUnit.forwardUnnormalized`), and its backward pass reads dy as
    /// its BatchNorm's input gradient, so neither BatchNorm writes its forward output or its dL/dx; expand's
    /// BatchNorm backward runs channel by channel inside the depthwise unit's. On the AVX-512 kernels and on the
    /// portable ones, which call BatchNorm's per-channel passes from their own channel loops.
    func testLazilyNormalizedExpansion() {
        for avx512 in [true, false] { InstructionSet.with(avx512: avx512) { checkLazilyNormalizedExpansion(avx512 ? "AVX-512" : "portable") } }
    }

    func checkLazilyNormalizedExpansion(_ kernels: String) {
        var rng = SplitMix64(label: "unit-expand-depthwise")
        let expand = ConvUnit(name: "expand", bnName: "bn0", trainable: true, inChannels: 2, outChannels: 4, kernel: 1,
                              padding: .tfSame, activation: .relu6)
        let depthwise = ConvUnit(name: "dw", bnName: "bn1", trainable: true, inChannels: 4, outChannels: 4, kernel: 3, stride: 2,
                                 padding: .tfSame, groups: 4, activation: .relu6)
        for unit in [expand, depthwise] {
            unit.setTraining(true)
            unit.conv.weight.randomize(&rng)
            unit.bn!.weight.randomize(&rng) { $0.uniform(1, 3) }
            unit.bn!.bias.randomize(&rng) { $0.uniform(1, 4) }
        }
        let ws = Workspace(), dd = Tensor(c: 0, n: 0, h: 0, w: 0)
        func forward(_ x: Tensor) -> Tensor { depthwise.forward(expand.forwardUnnormalized(x, ws)!, ws, into: nil) }
        // Both units' pre-activations clear of ReLU6's kinks, some clipping on each side (see checkUnit).
        func acceptable(_ x: Tensor) -> Bool {
            forward(x)
            let zs = [expand.normalizedOutput, NormalizedTensor(depthwise.convolved, depthwise.bn!, .identity)].map { t -> [Float] in
                let y = Tensor(c: 0, n: 0, h: 0, w: 0)
                t.bn.recompute(t.x, into: y)
                return y.array
            }
            return zs.allSatisfy { z in z.allSatisfy { min(abs($0), abs($0 - 6)) > 0.03 } } && zs.joined().contains { $0 < 0 }
                && zs.joined().contains { $0 > 6 }
        }
        let x = draw(c: 2, h: 5, w: 5, tries: 500, &rng, label: "expand-depthwise", until: acceptable)

        GradientCheck(h: 3e-3, tolerance: 1e-3).assertMatches(
            "expand-depthwise " + kernels, forward: { forward(x) },
            backward: {
                expand.backward(x, convolutionGradient: depthwise.backward(expand.normalizedOutput, $0, ws, into: dd), ws,
                                needInputGrad: true, into: nil)
            },
            probes: [Probe("input", input: x) { expand.conv.inputGrad }, Probe(expand.conv.weight), Probe(expand.bn!.weight),
                     Probe(expand.bn!.bias), Probe(depthwise.conv.weight), Probe(depthwise.bn!.weight), Probe(depthwise.bn!.bias)])
    }

    /// An inverted residual's depthwise unit (3x3, BatchNorm, ReLU6), its output written to a tensor the block lends
    /// and reuses, then the projection (1x1, BatchNorm): the projection's backward pass reads the depthwise output
    /// through the depthwise unit's BatchNorm from its convolution's output on AVX-512 (`ConvUnit.backward(after:...)`,
    /// `stpm_sgemm_nt_mapped`), recomputed into the lent tensor on the portable kernels. The lent tensor holds NaN when
    /// the backward pass starts, as the block's next use leaves it.
    func testProjectionAfterALentDepthwiseOutput() {
        for avx512 in [true, false] { InstructionSet.with(avx512: avx512) { checkProjectionAfterLentOutput(mapped: avx512) } }
    }

    /// A train-mode depthwise unit (3x3, BatchNorm, ReLU6) and projection (1x1, BatchNorm), BatchNorm shifted as in checkUnit.
    func depthwiseAndProjection(channels: Int, out: Int, _ rng: inout SplitMix64) -> (ConvUnit, ConvUnit) {
        let depthwise = ConvUnit(name: "dw", bnName: "bn1", trainable: true, inChannels: channels, outChannels: channels, kernel: 3,
                                 padding: .tfSame, groups: channels, activation: .relu6)
        let project = ConvUnit(name: "project", bnName: "bn2", trainable: true, inChannels: channels, outChannels: out, kernel: 1,
                               padding: .tfSame, activation: .identity)
        for unit in [depthwise, project] {
            unit.setTraining(true)
            unit.conv.weight.randomize(&rng)
            unit.bn!.weight.randomize(&rng) { $0.uniform(1, 3) }
            unit.bn!.bias.randomize(&rng) { $0.uniform(1, 4) }
        }
        return (depthwise, project)
    }

    func checkProjectionAfterLentOutput(mapped: Bool) {
        var rng = SplitMix64(label: "unit-depthwise-projection")
        let (depthwise, project) = depthwiseAndProjection(channels: 4, out: 3, &rng)
        let ws = Workspace(), lent = Tensor(c: 0, n: 0, h: 0, w: 0), dp = Tensor(c: 0, n: 0, h: 0, w: 0)
        func forward(_ x: Tensor) -> Tensor { project.forward(depthwise.forward(x, ws, into: lent), ws) }
        // The depthwise pre-activations clear of ReLU6's kinks, some clipping on each side (see checkUnit).
        func acceptable(_ x: Tensor) -> Bool {
            forward(x)
            let z = lent.array
            let y = Tensor(c: 0, n: 0, h: 0, w: 0)
            depthwise.bn!.recompute(depthwise.convolved, into: y)
            return y.array.allSatisfy { min(abs($0), abs($0 - 6)) > 0.03 } && z.contains(0) && z.contains(6)
        }
        let x = draw(c: 4, h: 4, w: 4, tries: 500, &rng, label: "depthwise-project", until: acceptable)
        XCTAssertEqual(project.conv.readsNormalizedInput(depthwise.convolved), mapped)

        GradientCheck(h: 3e-3, tolerance: 1e-3).assertMatches(
            "depthwise-project " + (mapped ? "mapped" : "recomputed"), forward: { forward(x) },
            backward: {
                lent.data.update(repeating: .nan, count: lent.count)
                depthwise.backward(x, project.backward(after: depthwise, $0, ws, into: dp), ws, needInputGrad: true)
            },
            probes: [Probe("input", input: x) { depthwise.conv.inputGrad }, Probe(depthwise.conv.weight), Probe(depthwise.bn!.weight),
                     Probe(depthwise.bn!.bias), Probe(project.conv.weight), Probe(project.bn!.weight), Probe(project.bn!.bias)])
    }

    /// At a block's size on two threads (the weight gradient split by depth, both parts on the mapped kernel), the
    /// projection's backward pass reading the depthwise output through its BatchNorm gives the bits of reading it
    /// recomputed.
    func testProjectionReadingThroughTheBatchNormGivesTheBitsOfTheRecomputedOutput() throws {
        try XCTSkipUnless(InstructionSet.available, "no AVX-512 on this machine")
        let saved = Parallelism.threads
        Parallelism.set(2)
        defer { Parallelism.set(saved) }
        var rng = SplitMix64(label: "project-after-depthwise-bits")
        let (depthwise, project) = depthwiseAndProjection(channels: 48, out: 24, &rng)
        let ws = Workspace(), lent = Tensor(c: 0, n: 0, h: 0, w: 0), x = Tensor.random(c: 48, n: 2, h: 40, w: 40, &rng)
        project.forward(depthwise.forward(x, ws, into: lent), ws)
        XCTAssertTrue(project.conv.readsNormalizedInput(depthwise.convolved), "the mapped kernel runs at this size")
        let dy = Tensor.random(c: 24, n: 2, h: 40, w: 40, &rng)
        func gradients(recomputed: Bool) -> [[UInt32]] {
            let g = dy.copy(), dp = Tensor(c: 0, n: 0, h: 0, w: 0)
            lent.data.update(repeating: .nan, count: lent.count)
            if recomputed {
                depthwise.recomputeOutput()
                project.backward(lent, g, ws, needInputGrad: true, into: dp)
            } else {
                project.backward(after: depthwise, g, ws, into: dp)
            }
            return [dp.array, project.conv.weight.gradients, project.bn!.weight.gradients, project.bn!.bias.gradients].map { $0.map(\.bitPattern) }
        }
        XCTAssertEqual(gradients(recomputed: false), gradients(recomputed: true))
    }
}
