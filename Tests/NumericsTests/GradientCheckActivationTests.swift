import XCTest
@testable import Numerics

/// ReLU, ReLU6 and the residual join. Their derivatives jump at 0 (and 6), where a central difference
/// straddling the kink means nothing, so every input sits at least 0.05 (> 2h) from a kink.
final class GradientCheckActivationTests: XCTestCase {
    let check = GradientCheck(h: 1e-2, tolerance: 2e-4)

    /// Values on both sides of every kink of ReLU6, none closer than 0.05.
    static func clearOfReLU6Kinks(_ rng: inout SplitMix64) -> Float {
        let regions: [(Float, Float)] = [(-1, -0.05), (0.05, 5.95), (6.05, 7)]
        let (lo, hi) = regions[Int(rng.next() % 3)]
        return rng.uniform(lo, hi)
    }

    /// The activation runs in place, so the forward works on a copy of the probed input.
    func checkActivation(_ act: Activation, _ label: String, draw: (inout SplitMix64) -> Float) {
        var rng = SplitMix64(label: label)
        let x = Tensor.random(c: 3, n: 2, h: 4, w: 5, &rng, draw)
        let y = Tensor(c: 3, n: 2, h: 4, w: 5)
        var masked: Tensor?
        check.assertMatches(label, forward: {
            y.data.update(from: x.data, count: x.count)
            act.forward(y)
            return y
        }, backward: {
            act.backward(output: y, grad: $0)
            masked = $0
        }, probes: [Probe("input", input: x) { masked! }])
    }

    func testReLU() { checkActivation(.relu, "relu") { $0.awayFromZero(0.05, 2) } }

    func testReLU6() { checkActivation(.relu6, "relu6", draw: Self.clearOfReLU6Kinks) }

    /// Both branches receive the masked gradient; a + b is kept clear of 0 while a and b are not.
    func checkResidual(_ act: Activation, _ label: String) {
        var rng = SplitMix64(label: label)
        let a = Tensor.random(c: 4, n: 2, h: 3, w: 3, &rng)
        let b = Tensor.random(c: 4, n: 2, h: 3, w: 3, &rng) { $0.awayFromZero(0.05, 2) }
        for i in 0..<b.count { b.data[i] -= a.data[i] }
        let join = ResidualAdd(activation: act)
        var masked: Tensor?
        check.assertMatches(label, forward: { join.forward(.init(a), .init(b)) }, backward: {
            join.backward($0)
            masked = $0
        }, probes: [Probe("a", input: a) { masked! }, Probe("b", input: b) { masked! }])
    }

    func testResidualAddReLU() { checkResidual(.relu, "residual-relu") }

    func testResidualAddIdentity() { checkResidual(.identity, "residual-identity") }

    /// A join that normalises a side as it reads it (a train-mode BatchNorm's input and batch statistics)
    /// writes what the join of the normalised tensor writes, bit for bit, on either side or both.
    func testJoinNormalizingItsSidesMatchesJoinOfNormalizedTensors() {
        var rng = SplitMix64(label: "join-normalizing")
        let a = Tensor.random(c: 5, n: 3, h: 4, w: 6, &rng), b = Tensor.random(c: 5, n: 3, h: 4, w: 6, &rng)
        let bnA = BatchNorm2d(name: "a", channels: 5), bnB = BatchNorm2d(name: "b", channels: 5)
        for bn in [bnA, bnB] {
            bn.training = true
            bn.weight.randomize(&rng) { $0.uniform(0.5, 2) }
            bn.bias.randomize(&rng)
        }
        let normalizedA = Tensor(c: 0, n: 0, h: 0, w: 0), normalizedB = Tensor(c: 0, n: 0, h: 0, w: 0)
        bnA.forward(a, into: normalizedA)
        bnB.forward(b, into: normalizedB)
        for act in [Activation.relu, .identity, .relu6] {
            let join = ResidualAdd(activation: act)
            for (sideA, sideB, plainA, plainB) in [(ResidualAdd.Side(a, normalizedBy: bnA), ResidualAdd.Side(b, normalizedBy: bnB), normalizedA, normalizedB),
                                                   (.init(a, normalizedBy: bnA), .init(b), normalizedA, b),
                                                   (.init(a), .init(b, normalizedBy: bnB), a, normalizedB)] {
                let expected = join.forward(.init(plainA), .init(plainB)).array
                XCTAssertEqual(join.forward(sideA, sideB).array, expected, "\(act)")
            }
        }
    }
}
