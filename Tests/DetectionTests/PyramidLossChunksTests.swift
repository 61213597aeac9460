import XCTest
import Numerics
@testable import Detection

/// PyramidLoss.forward sums its squared differences in Float over chunks of 4096 consecutive values and adds
/// the chunks in Double, whatever the thread count: the training log's losses must not depend on how the
/// cores split the chunks.
final class PyramidLossChunksTests: XCTestCase {
    func testChunksOf4096SumAsOneSerialPass() {
        // Planes that do not divide 4096, counts that are not multiples of it, and one that is.
        let shapes = [(37, 3, 19, 23), (50, 3, 20, 20), (64, 2, 16, 16)]
        var rng = SplitMix64(seed: 40)
        let tensor = { (shape: (Int, Int, Int, Int)) -> Tensor in
            let t = Tensor(c: shape.0, n: shape.1, h: shape.2, w: shape.3)
            for i in 0..<t.count { t.data[i] = rng.uniform(-1, 1) }
            return t
        }
        let teacher = shapes.map(tensor), student = shapes.map(tensor)
        let saved = Parallelism.threads
        defer { Parallelism.set(saved) }
        for threads in [1, 2, 3] {
            Parallelism.set(threads)
            let loss = PyramidLoss()
            let levels = loss.forward(teacher: teacher, student: student)
            for l in 0..<3 {
                let s = student[l], t = teacher[l], plane = s.plane, inv = loss.studentNorms[l].inverseNorms.data
                var total = 0.0, acc: Float = 0
                for i in 0..<s.count {
                    let r = i / plane, q = i % plane
                    let d = t.data[i] - ChannelNormalize.normalized(s.data[i], inv[(r % s.n) * plane + q])
                    acc += d * d
                    if (i + 1) % 4096 == 0 || i + 1 == s.count { total += Double(acc); acc = 0 }
                }
                XCTAssertEqual(levels[l], total / Double(s.rowLength), "level \(l + 1), \(threads) threads")
            }
        }
    }
}
