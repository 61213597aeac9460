import XCTest
import Numerics
import Backbones
import ImageIO
@testable import Detection

/// The cached teacher features (Float16) against the teacher's own normalised taps in Float.
final class TeacherFeatureCacheTests: XCTestCase {
    func testFillReturnsEachImagesTapsToFloat16Rounding() {
        let (teacher, images) = Self.randomTeacher(seed: 16, images: 5, side: 32)
        // Batches of 2 while caching: the cache must stitch them in image order.
        let cache = TeacherFeatureCache(teacher: teacher, images: images, batchSize: 2)
        XCTAssertEqual(cache.bytes, 5 * BackboneKind.efficientnetLite0.tapChannels.enumerated()
            .reduce(0) { $0 + $1.element * (32 >> (2 + $1.offset)) * (32 >> (2 + $1.offset)) } * 2)
        let indices = [3, 0, 4]
        let batch = [Tensor(c: 0, n: 0, h: 0, w: 0), Tensor(c: 0, n: 0, h: 0, w: 0), Tensor(c: 0, n: 0, h: 0, w: 0)]
        cache.fill(batch, indices: indices)
        for (n, image) in indices.enumerated() {
            // The teacher on the same batch of 2 as the cache (batch size can change the convolution algorithm).
            let input = Tensor(c: 0, n: 0, h: 0, w: 0), first = image / 2 * 2
            ImagePreparation.fill(input, with: Array(images[first..<min(first + 2, images.count)]), kind: .efficientnetLite0)
            let exact = TapNormalizer()(teacher.forward(input))
            for l in 0..<3 {
                let t = exact[l], plane = t.plane, m = image - first
                XCTAssertEqual(batch[l].n, indices.count)
                var worst: Float = 0, largest: Float = 0
                for c in 0..<t.c { for i in 0..<plane {
                    let want = t.data[(c * t.n + m) * plane + i], got = batch[l].data[(c * indices.count + n) * plane + i]
                    // Float16 keeps 11 significant bits; below its normal range, steps of 2^-24.
                    worst = max(worst, abs(got - want) - abs(want) * 0x1p-11 - 0x1p-25)
                    largest = max(largest, abs(want))
                } }
                XCTAssertLessThanOrEqual(worst, 0, "image \(image) level \(l + 1)")
                XCTAssertGreaterThan(largest, 0.05, "level \(l + 1) is not all zeros")
            }
        }
    }

    /// What Float16 storage does to the training signal: the STPM loss of a random student against the
    /// cached teacher features and against the teacher's Float taps, on the same batch.
    func testLossAgainstCachedFeaturesMatchesFloat() {
        let (teacher, images) = Self.randomTeacher(seed: 61, images: 4, side: 64)
        let cache = TeacherFeatureCache(teacher: teacher, images: images, batchSize: 4)
        let cached = [Tensor(c: 0, n: 0, h: 0, w: 0), Tensor(c: 0, n: 0, h: 0, w: 0), Tensor(c: 0, n: 0, h: 0, w: 0)]
        cache.fill(cached, indices: Array(0..<4))
        let input = Tensor(c: 0, n: 0, h: 0, w: 0)
        ImagePreparation.fill(input, with: images, kind: .efficientnetLite0)
        let exact = TapNormalizer()(teacher.forward(input))
        let student = BackboneKind.efficientnetLite0.make(role: .student)
        StudentInit.initialize(student, seed: 3)
        student.setTraining(true)
        let taps = student.forward(input)
        let withCache = PyramidLoss().forward(teacher: cache.batch(Array(0..<4)), student: taps)
        let withFloat = PyramidLoss().forward(teacher: exact, student: taps)
        // The cache read in place (the training step) and its Float copy (held-out scoring) give one loss,
        // also for a batch drawn out of order.
        XCTAssertEqual(PyramidLoss().forward(teacher: cached, student: taps), withCache)
        let order = [2, 0, 3, 1]
        cache.fill(cached, indices: order)
        XCTAssertEqual(PyramidLoss().forward(teacher: cache.batch(order), student: taps),
                       PyramidLoss().forward(teacher: cached, student: taps))
        for l in 0..<3 {
            let relative = abs(withCache[l] - withFloat[l]) / withFloat[l]
            print("TeacherFeatureCache level \(l + 1): loss \(withFloat[l]) (Float) vs \(withCache[l]) (Float16), relative \(relative)")
            XCTAssertLessThan(relative, 1e-4, "level \(l + 1)")
        }
    }

    /// An efficientnet-lite0 teacher with random weights and `images` random RGB images of side `side`.
    private static func randomTeacher(seed: UInt64, images count: Int, side: Int) -> (FeatureExtractor, [Image8]) {
        var rng = SplitMix64(seed: seed)
        let teacher = BackboneKind.efficientnetLite0.make(role: .teacher)
        for p in teacher.state { for i in 0..<p.count { p.value[i] = 0.3 * rng.normal() }; p.markChanged() }
        let images = (0..<count).map { _ in
            Image8(width: side, height: side, channels: 3,
                   pixels: (0..<(side * side * 3)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        }
        return (teacher, images)
    }
}
