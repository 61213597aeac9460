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
        store = ModelStore(path: path)
        config = try store.loadConfig()
        StaleTemporaries.remove(in: path)
        try MemoryBudget.check(estimate: MemoryBudget.scoring(config.backbone, size: config.size, batch: batchSize),
                               what: "scoring at \(config.size) px (\(config.backbone.rawValue))",
                               advice: "train a model at a smaller --size")
        let weights = config.teacherWeights
        guard FileManager.default.fileExists(atPath: weights) else {
            throw TeacherWeightsError.missingFile(weights)
        }
        whileLoading(config)
        let hash = try SHA256.hex(ofFile: weights)
        guard hash == config.teacherWeightsSHA256 else {
            throw ModelStoreError.corrupt(weights, "its sha256 \(hash) differs from the one this model was trained with (\(config.teacherWeightsSHA256))")
        }
        let teacher = config.backbone.make(role: .teacher)
        try teacher.load(from: SafetensorsFile(path: weights))
        inference = MapInference(teacher: teacher, student: try store.loadStudent(config), size: config.size)
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
