import XCTest
@testable import Numerics

/// MaxPool2d and BilinearUpsample: both are linear maps at a fixed input (max-pool once its argmax
/// is fixed), so the tolerance is the one for exact differences.
final class GradientCheckResamplingTests: XCTestCase {
    let check = GradientCheck(h: 1e-2, tolerance: 2e-4)

    /// Inputs are a shuffled ramp with steps of 0.1 (> 2h): no two candidates of a window can swap
    /// under a perturbation, so the argmax is stable and ties never occur.
    func checkMaxPool(_ label: String, size: Int, padding: Padding) {
        var rng = SplitMix64(label: label)
        let x = Tensor(c: 2, n: 2, h: size, w: size)
        for (i, rank) in rng.pick(x.count, of: x.count).enumerated() { x.data[i] = Float(rank) * 0.1 - 5 }
        let pool = MaxPool2d(kernel: 3, stride: 2, padding: padding)
        pool.recordsArgmax = true
        // Every element: only the window maxima have nonzero gradients and a sample could miss them.
        var all = check
        all.samples = x.count
        // Into a tensor full of NaN, as the stem's lent gradient tensor holds the last step's values: every element written.
        let target = Tensor(c: x.c, n: x.n, h: x.h, w: x.w)
        all.assertMatches(label, forward: { pool.forward(x) }, backward: {
            target.data.update(repeating: .nan, count: target.count)
            pool.backward($0, into: target)
        }, probes: [Probe("input", input: x) { target }])
    }

    func testMaxPool3x3Stride2Pad1() {
        checkMaxPool("maxpool-p1-odd", size: 7, padding: .symmetric(1))
        checkMaxPool("maxpool-p1-even", size: 8, padding: .symmetric(1))
    }

    /// ResNet-50-1by2's pool: the extra padding row/column only at the bottom/right.
    func testMaxPoolTFSame() {
        checkMaxPool("maxpool-tfsame-even", size: 8, padding: Padding(top: 0, bottom: 1, left: 0, right: 1))
        checkMaxPool("maxpool-tfsame-odd", size: 7, padding: Padding(top: 0, bottom: 1, left: 0, right: 1))
    }

    func checkBilinear(_ label: String, from: (h: Int, w: Int), to: (h: Int, w: Int)) {
        var rng = SplitMix64(label: label)
        let up = BilinearUpsample(inH: from.h, inW: from.w, outH: to.h, outW: to.w)
        let x = Tensor.random(c: 2, n: 2, h: from.h, w: from.w, &rng)
        let y = Tensor(c: 2, n: 2, h: to.h, w: to.w)
        let dx = Tensor(c: 2, n: 2, h: from.h, w: from.w)
        let planes = 4
        check.assertMatches(label, forward: {
            up.forward(x.data, y.data, planes: planes)
            return y
        }, backward: { up.backward($0.data, dx.data, planes: planes) },
        probes: [Probe("input", input: x) { dx }])
    }

    func testBilinearUpsample() {
        checkBilinear("bilinear-4x4-16x16", from: (4, 4), to: (16, 16))
        checkBilinear("bilinear-5x3-8x7", from: (5, 3), to: (8, 7))
    }

    /// Shrinking takes the same code path with scale > 1; clamping at the last row/column differs.
    func testBilinearDownsample() { checkBilinear("bilinear-8x7-5x3", from: (8, 7), to: (5, 3)) }
}
