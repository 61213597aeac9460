import XCTest
@testable import Numerics

/// The 3x3 stride-2 max pooling kernel (maxpool_avx512.c) against the portable path on the same inputs:
/// both ResNets' paddings (1 on every side; none before and 1 after), and a padding of 2 before, over
/// widths and heights around the 16-lane vectors and the 32-column pairs the output loop loads (ragged
/// tails, a single column), split between two threads. The output starts as NaN, so an element left
/// unwritten shows.
final class MaxPoolAVX512Tests: XCTestCase {
    /// Each padding and shape of the tests, on two threads, with an input batch of 2 or 3 images.
    private func forEachCase(label: String, _ body: (Padding, _ n: Int, _ h: Int, _ w: Int, inout SplitMix64) -> Void) throws {
        try XCTSkipUnless(InstructionSet.available, "no AVX-512 on this machine")
        let saved = Parallelism.threads
        Parallelism.set(2)
        defer { Parallelism.set(saved) }
        let paddings = [Padding.symmetric(1), Padding(top: 0, bottom: 1, left: 0, right: 1), Padding(top: 2, bottom: 1, left: 2, right: 0)]
        var rng = SplitMix64(label: label)
        for (index, padding) in paddings.enumerated() {
            for w in [1, 2, 3, 15, 16, 17, 31, 32, 33, 34, 63, 64, 65, 128] {
                for h in [1, 2, 5, 8] {
                    // A padded input narrower than the window has no output.
                    guard w + padding.left + padding.right >= 3, h + padding.top + padding.bottom >= 3 else { continue }
                    body(padding, 2 + index % 2, h, w, &rng)
                }
            }
        }
    }

    func testEqualsThePortablePath() throws {
        try forEachCase(label: "maxpool") { padding, n, h, w, rng in
            let x = Tensor.random(c: 3, n: n, h: h, w: w, &rng) { $0.uniform(-4, 4) }
            var results: [[Float]] = []
            for avx512 in [true, false] {
                let pool = MaxPool2d(kernel: 3, stride: 2, padding: padding)
                InstructionSet.with(avx512: avx512) {
                    let oh = windowCount(h, kernel: 3, stride: 2, padBefore: padding.top, padAfter: padding.bottom)
                    let ow = windowCount(w, kernel: 3, stride: 2, padBefore: padding.left, padAfter: padding.right)
                    pool.output.resize(c: x.c, n: x.n, h: oh, w: ow)
                    pool.output.data.update(repeating: .nan, count: pool.output.count)
                    results.append(pool.forward(x).array)
                }
            }
            XCTAssertFalse(results[1].contains { $0.isNaN }, "portable \(padding) \(h)x\(w)")
            XCTAssertEqual(results[0].map(\.bitPattern), results[1].map(\.bitPattern), "\(padding) \(h)x\(w)")
        }
    }

    /// In training the AVX-512 pass finds the maxima and where they lie at once: the output and the gradient routed by
    /// that record equal the portable path's (a separate scalar scan), bit for bit, with ties everywhere (values from
    /// five levels), -inf inputs (which never win), the same shapes and paddings, and planes split between threads.
    func testTrainingRecordEqualsThePortablePath() throws {
        try forEachCase(label: "maxpool-argmax") { padding, n, h, w, rng in
            let x = Tensor.random(c: 3, n: n, h: h, w: w, &rng) { r in
                let level = Float(r.next() % 6)
                return level == 5 ? -.infinity : level - 2
            }
            let oh = windowCount(h, kernel: 3, stride: 2, padBefore: padding.top, padAfter: padding.bottom)
            let ow = windowCount(w, kernel: 3, stride: 2, padBefore: padding.left, padAfter: padding.right)
            let dy = Tensor.random(c: 3, n: x.n, h: oh, w: ow, &rng)
            var outputs: [[Float]] = [], gradients: [[Float]] = []
            for avx512 in [true, false] {
                let pool = MaxPool2d(kernel: 3, stride: 2, padding: padding)
                pool.recordsArgmax = true
                InstructionSet.with(avx512: avx512) {
                    pool.output.resize(c: x.c, n: x.n, h: oh, w: ow)
                    pool.output.data.update(repeating: .nan, count: pool.output.count)
                    outputs.append(pool.forward(x).array)
                    gradients.append(pool.backward(dy).array)
                }
            }
            XCTAssertEqual(outputs[0].map(\.bitPattern), outputs[1].map(\.bitPattern), "\(padding) \(h)x\(w) output")
            XCTAssertEqual(gradients[0].map(\.bitPattern), gradients[1].map(\.bitPattern), "\(padding) \(h)x\(w) gradient")
        }
    }
}
