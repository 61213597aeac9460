import Foundation
import Numerics
import Backbones
import ImageIO

/// A trained model ready for inference: frozen teacher and frozen student (BatchNorm folded into
/// both), producing anomaly maps at model resolution and image scores (map maximum).
public final class AnomalyModel {
    public let store: ModelStore
    public let config: ModelConfig
    let inference: MapInference
    public let batchSize: Int
    public static let defaultBatchSize = 8

    public var size: Int { config.size }

    /// `whileLoading` runs once the configuration is read and checked, before the weights are hashed and parsed
    /// (30-60 ms): work it starts on other threads, such as reading the first images, overlaps the loading.
    public init(path: String, batchSize: Int = defaultBatchSize, whileLoading: (ModelConfig) -> Void = { _ in }) throws {
        let store = ModelStore(path: path), config = try store.loadConfig()
        self.store = store
        self.config = config
        StaleTemporaries.remove(in: path)
        try MemoryBudget.check(estimate: MemoryBudget.scoring(config.backbone, size: config.size, batch: batchSize),
                               what: "scoring at \(config.size) px (\(config.backbone.rawValue))",
                               advice: "train a model at a smaller --size")
        let weights = config.teacherWeights
        guard FileManager.default.fileExists(atPath: weights) else {
            throw TeacherWeightsError.missingFile(weights)
        }
        whileLoading(config)
        // Both weight files are mapped once, hashed and parsed on two threads: the sha256 (10-12 ms for
        // EfficientNet-Lite0's 18.8 MB teacher) is a third of the loading, which `eval` and `score` wait for. Nothing
        // parsed is used before its file's digest matches the one the model was trained with, and the errors come in
        // the order of a serial load: the teacher's file, its digest, its tensors, then the student's.
        let teacherFile = Result { try MappedFile(path: weights) }, studentFile = Result { try store.mappedStudent() }
        var teacherDigest: String?, studentDigest: String?
        var teacher: Result<FeatureExtractor, Error>?, student: Result<FeatureExtractor, Error>?
        concurrently({ teacherDigest = try? teacherFile.get().sha256Hex() }, {
            teacher = Result {
                let network = config.backbone.make(role: .teacher)
                try network.load(from: SafetensorsFile(try teacherFile.get()))
                return network
            }
            student = Result { try store.frozenStudent(from: try studentFile.get(), config) }
            // The student's hash (2.9 MB for EfficientNet-Lite0) here evens out the threads: the teacher's (18.8 MB)
            // takes about as long as parsing both networks.
            if config.studentSHA256 != nil { studentDigest = try? studentFile.get().sha256Hex() }
        })
        _ = try teacherFile.get()
        guard teacherDigest == config.teacherWeightsSHA256 else {
            throw ModelStoreError.corrupt(weights, "its sha256 \(teacherDigest!) differs from the one this model was trained with (\(config.teacherWeightsSHA256))")
        }
        let frozenTeacher = try teacher!.get()
        _ = try studentFile.get()
        try store.checkStudent(sha256: studentDigest, config)
        inference = MapInference(teacher: frozenTeacher, student: try student!.get(), size: config.size)
        self.batchSize = batchSize
    }

    /// Anomaly maps (size x size each, row-major) and scores of already prepared images.
    public func score(_ images: [Image8]) -> (maps: [[Float]], scores: [Float]) {
        let results = inference.maps(count: images.count) { i, tensor in
            ImagePreparation.fill(tensor, with: [images[i]], kind: config.backbone)
            return true
        }
        return (results.map { $0!.map }, results.map { $0!.score })
    }
}
