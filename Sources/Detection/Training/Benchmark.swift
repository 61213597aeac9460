import Foundation
import Numerics
import Backbones
import ImageIO

/// Throughput of one backbone at a given resolution, measured on random inputs: speed does not depend
/// on the weights' values.
public struct BenchmarkResult: Sendable {
    public var backbone: BackboneKind
    public var size: Int
    public var forwardBatch1: Double
    public var forwardBatch8: Double
    public var stpmInferenceBatch1: Double
    public var stpmInferenceBatch8: Double
    /// A training session's batch: the images converted, then the step against cached teacher features.
    public var trainBatch8: Double
    /// Convolution FLOPs per image (two per multiply-accumulate) of each figure's work, counted from
    /// the layer shapes: a teacher forward, an inference (teacher and student), a training step (the
    /// student's forward and backward: the teacher's features are cached, `TeacherFeatureCache`).
    public var forwardFLOPs: Double
    public var inferenceFLOPs: Double
    public var trainFLOPs: Double
}

public enum Benchmark {
    static func randomBatch(_ n: Int, _ size: Int) -> Tensor {
        let t = Tensor(c: 3, n: n, h: size, w: size)
        var state: UInt64 = 0x9E3779B97F4A7C15
        for i in 0..<t.count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            t.data[i] = Float(state >> 40) / Float(1 << 24) * 255
        }
        return t
    }

    static func randomImages(_ n: Int, _ size: Int) -> [Image8] {
        var state: UInt64 = 0x9E3779B97F4A7C15
        return (0..<n).map { _ in
            Image8(width: size, height: size, channels: 3, pixels: (0..<(size * size * 3)).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return UInt8(truncatingIfNeeded: state >> 56)
            })
        }
    }

    /// Images per second of `body` run on batches of `n`, best of `repeats` after one warm-up.
    static func rate(_ n: Int, repeats: Int, _ body: () -> Void) -> Double {
        body()
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return Double(n) / best
    }

    public static func run(_ kind: BackboneKind, size: Int = 256, repeats: Int = 3, trainOnly: Bool = false,
                           inferOnly: Bool = false) -> BenchmarkResult {
        let teacher = kind.make(role: .teacher)
        let student = kind.make(role: .student)
        StudentInit.initialize(student, seed: 0)
        // Inference runs a frozen student (BatchNorm folded), as a loaded model does.
        let frozen = kind.make(role: .frozenStudent)
        StudentInit.initialize(frozen, seed: 0)
        let inference = MapInference(teacher: teacher, student: frozen, size: size)
        let x1 = randomBatch(1, size), x8 = randomBatch(8, size)
        kind.normalize(x1); kind.normalize(x8)
        let f1 = trainOnly || inferOnly ? 0 : rate(1, repeats: repeats) { teacher.forward(x1) }
        let f8 = trainOnly || inferOnly ? 0 : rate(8, repeats: repeats) { teacher.forward(x8) }
        let infer1 = trainOnly ? 0 : rate(1, repeats: repeats) { _ = inference(x1) }
        let infer8 = trainOnly ? 0 : rate(8, repeats: repeats) { _ = inference(x8) }
        let train = inferOnly ? 0 : trainRate(teacher: teacher, student: student, images: randomImages(8, size), repeats: repeats)
        // Counted from the shapes each network last ran on: the frozen student's for inference (the
        // training student has not run when only inference is measured).
        let teacherMACs = teacher.forwardMACs(), studentMACs = student.forwardMACs(), frozenMACs = frozen.forwardMACs()
        let forward = Double(teacherMACs.dense + teacherMACs.depthwise)
        let studentForward = Double(studentMACs.dense + studentMACs.depthwise)
        return BenchmarkResult(backbone: kind, size: size, forwardBatch1: f1, forwardBatch8: f8, stpmInferenceBatch1: infer1,
                               stpmInferenceBatch8: infer8, trainBatch8: train, forwardFLOPs: 2 * forward,
                               inferenceFLOPs: 2 * (forward + Double(frozenMACs.dense + frozenMACs.depthwise)),
                               trainFLOPs: 2 * (studentForward + Double(student.backwardMACs())))
    }

    /// Images per second of what a training session does per batch (`TrainingSession.step`): the images
    /// converted and normalised, then the step (forward, backward, update) against their teacher features
    /// read in place from a `TeacherFeatureCache`, which a session fills once before its first epoch.
    static func trainRate(teacher: FeatureExtractor, student: FeatureExtractor, images: [Image8], repeats: Int) -> Double {
        let cache = TeacherFeatureCache(teacher: teacher, images: images)
        let features = cache.batch(Array(images.indices))
        let input = Tensor(c: 0, n: 0, h: 0, w: 0)
        student.setTraining(true)
        let step = TrainingStep(student: student, options: TrainingOptions())
        return rate(images.count, repeats: repeats) {
            ImagePreparation.fill(input, with: images, kind: student.kind)
            _ = step(input: input, teacher: features)
        }
    }
}
