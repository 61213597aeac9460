import XCTest
@testable import Numerics
@testable import Backbones

/// EfficientNet-Lite0's blocks band by band (`InvertedResidualBands`) against the layer-by-layer
/// forward: the same kernels in the same order, so every tap must agree bit for bit, for the frozen
/// teacher and student and for a trainable student in eval mode, on odd sizes (TF-SAME padding that
/// differs top and bottom, widths no vector divides), batch 1 (an image's rows split between threads)
/// and batch 3, and tiles from the default down to one output row per band; the stem runs band by band
/// with block 0.
final class InvertedResidualBandsTests: XCTestCase {
    func testBandsEqualLayers() throws {
        try XCTSkipUnless(InstructionSet.avx512, "the banded forward runs on the AVX-512 kernels only")
        let savedThreads = Parallelism.threads
        defer { Parallelism.set(savedThreads) }
        for role in [Role.teacher, .frozenStudent, .student] {
            let net = randomNetwork(role)
            for (n, h, w) in [(1, 100, 76), (3, 100, 76), (1, 256, 256), (2, 37, 53)] {
                var rng = SplitMix64(seed: UInt64(n * 1_000_000 + h * 1_000 + w))
                let x = Tensor(c: 3, n: n, h: h, w: w)
                for i in 0..<x.count { x.data[i] = rng.uniform(-2, 2) }
                for threads in [1, 2] {
                    Parallelism.set(threads)
                    // Bands first: the work they count must not be the shapes a layer-by-layer run left behind.
                    let budgets = [InvertedResidualBands.tileBudget, 2_000, 1]
                    let banded = budgets.map { budget in
                        let saved = InvertedResidualBands.tileBudget
                        InvertedResidualBands.tileBudget = budget
                        defer { InvertedResidualBands.tileBudget = saved }
                        return (net.forward(x).map(\.array), net.forwardMACs())
                    }
                    let (layers, macs) = InvertedResidualBands.with(enabled: false) { (net.forward(x).map(\.array), net.forwardMACs()) }
                    for (budget, (bands, bandMACs)) in zip(budgets, banded) {
                        let label = "\(role) \(n)x\(h)x\(w), \(threads) threads, budget \(budget)"
                        XCTAssert(bandMACs == macs, "\(label): the work counted")
                        for (l, (b, e)) in zip(bands, layers).enumerated() {
                            XCTAssertEqual(b.count, e.count, label)
                            let differing = zip(b, e).filter { $0.bitPattern != $1.bitPattern }.count
                            XCTAssertEqual(differing, 0, "\(label): tap \(l + 1), \(differing) of \(b.count) differ")
                        }
                    }
                }
            }
            // Not two runs of the same forward: every block took the banded path, on a busy input.
            let x = Tensor(c: 3, n: 1, h: 64, w: 48)
            for i in 0..<x.count { x.data[i] = Float(i % 7) - 3 }
            let stem = try XCTUnwrap(net.layers[0] as? ConvUnit), first = try XCTUnwrap(net.layers[1] as? MBConvBlock)
            XCTAssertNotNil(first.forward(afterStem: stem, x, net.workspace), "\(role): the stem runs with block 0")
            var h = x
            for layer in net.layers {
                if let block = layer as? MBConvBlock, let expand = block.expand {
                    XCTAssertNotNil(InvertedResidualBands.forward(h, expand: expand, depthwise: block.depthwise,
                                                                  project: block.project, join: block.join, net.workspace))
                }
                h = layer.forward(h, net.workspace)
            }
            let tap = net.taps[2].array
            XCTAssert(tap.contains { $0 != 0 } && Set(tap).count > tap.count / 2, "\(role): the taps are not degenerate")
        }
    }

    /// The depthwise taps are transposed once per weight version: weights changed after a banded forward
    /// (a loaded checkpoint, a folded BatchNorm) must reach the next one.
    func testChangedWeightsReachTheNextBandedForward() throws {
        try XCTSkipUnless(InstructionSet.avx512, "the banded forward runs on the AVX-512 kernels only")
        let net = randomNetwork(.teacher)
        let x = Tensor(c: 3, n: 1, h: 64, w: 48)
        for i in 0..<x.count { x.data[i] = Float(i % 7) - 3 }
        _ = net.forward(x)
        for block in net.layers.compactMap({ $0 as? MBConvBlock }) {
            let w = block.depthwise.conv.weight
            for i in 0..<w.count { w.value[i] *= -0.5 }
            w.markChanged()
        }
        let banded = net.forward(x).map(\.array)
        let layers = InvertedResidualBands.with(enabled: false) { net.forward(x).map(\.array) }
        XCTAssertEqual(banded, layers)
    }

    func testTrainingModeRunsTheLayers() {
        let net = randomNetwork(.student)
        net.setTraining(true)
        let block = net.layers.compactMap { $0 as? MBConvBlock }[1]
        let x = Tensor(c: 16, n: 2, h: 8, w: 8)
        XCTAssertNil(InvertedResidualBands.forward(x, expand: block.expand!, depthwise: block.depthwise, project: block.project,
                                                   join: block.join, net.workspace))
    }

    /// Weights scaled by 1/sqrt(fan-in), so that activations neither vanish nor all saturate at 6 over
    /// eleven blocks; a student's BatchNorms with spread statistics, in eval mode.
    func randomNetwork(_ role: Role) -> FeatureExtractor {
        let net = EfficientNetLite0.make(role: role)
        var rng = SplitMix64(seed: 77)
        for p in net.state {
            let fanIn = p.shape.count == 4 ? p.shape[1] * p.shape[2] * p.shape[3] : 1
            for i in 0..<p.count {
                if p.name.hasSuffix("running_var") { p.value[i] = rng.uniform(0.5, 2) }
                else if p.shape.count == 4 { p.value[i] = 1.5 * rng.normal() / Float(fanIn).squareRoot() }
                else if p.name.hasSuffix(".weight") { p.value[i] = rng.uniform(0.5, 1.5) }
                else { p.value[i] = 0.3 * rng.normal() }
            }
            p.markChanged()
        }
        net.setTraining(false)
        return net
    }
}
