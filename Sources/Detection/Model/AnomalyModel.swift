import Crypto
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
    /// (40-60 ms): work it starts on other threads, such as reading the first images, overlaps the loading.
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
        // The teacher's file is hashed beside the parsing of both networks: its sha256 (10-12 ms for EfficientNet-Lite0's
        // 18.8 MB) was a third of the loading, which `eval` and `score` wait for. A file that differs from the one the model
        // was trained with is still refused before anything uses it, and its error comes first.
        var hash: Result<String, Error>?, networks: Result<(FeatureExtractor, FeatureExtractor), Error>?
        concurrently({ hash = Result { try SHA256.hex(ofFile: weights) } }, {
            networks = Result {
                let teacher = config.backbone.make(role: .teacher)
                try teacher.load(from: SafetensorsFile(path: weights))
                return (teacher, try store.loadStudent(config))
            }
        })
        let digest = try hash!.get()
        guard digest == config.teacherWeightsSHA256 else {
            throw ModelStoreError.corrupt(weights, "its sha256 \(digest) differs from the one this model was trained with (\(config.teacherWeightsSHA256))")
        }
        let (teacher, student) = try networks!.get()
        inference = MapInference(teacher: teacher, student: student, size: config.size)
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
