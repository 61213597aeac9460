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
    private let input = Tensor(c: 0, n: 0, h: 0, w: 0)
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
        var maps: [[Float]] = []
        var scores: [Float] = []
        // One image at a time: MapInference runs images one by one anyway, and a batch of one needs no copy out of the batch.
        for image in images {
            ImagePreparation.fill(input, with: [image], kind: config.backbone)
            let (m, s) = inference(input)
            maps += m
            scores += s
        }
        return (maps, scores)
    }
}
