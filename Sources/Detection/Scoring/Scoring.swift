import Foundation
import ImageIO

/// One image file as scored by a model: the prepared image (model size, RGB), its anomaly map
/// (size x size, row-major) and its score (the map's maximum).
public struct ImageScore {
    public var image: Image8
    public var map: [Float]
    public var score: Float
}

extension AnomalyModel {
    /// Scores files `batchSize` at a time. A file that cannot be read is handed to `each` as a failure
    /// (the error names the file) and the others are still scored, so one bad PNG in a folder of
    /// thousands does not lose the rest; callers that need every image rethrow it.
    public func scoreFiles(_ paths: [String], progress: (Int) -> Void = { _ in },
                           each: (_ index: Int, _ result: Result<ImageScore, Error>) throws -> Void) rethrows {
        for start in stride(from: 0, to: paths.count, by: batchSize) {
            let indices = Array(start..<min(start + batchSize, paths.count))
            var loaded: [(index: Int, image: Image8)] = []
            var failures: [Int: Error] = [:]
            for i in indices {
                do { loaded.append((i, try ImagePreparation.load(paths[i], size: size))) } catch { failures[i] = error }
            }
            let (maps, scores) = loaded.isEmpty ? ([], []) : score(loaded.map(\.image))
            var scored: [Int: ImageScore] = [:]
            for (k, item) in loaded.enumerated() { scored[item.index] = ImageScore(image: item.image, map: maps[k], score: scores[k]) }
            for i in indices {
                try each(i, scored[i].map { .success($0) } ?? .failure(failures[i]!))
            }
            progress(indices.last! + 1)
        }
    }
}

/// A labelled test image scored by a model, with its ground truth at model resolution.
public struct ScoredSample: Sendable {
    public var sample: DatasetSample
    public var score: Float
    public var map: [Float]
    /// At model resolution: all false for good images; nil for a defect-folder image whose mask is missing
    /// (pixel truth unknown).
    public var mask: [Bool]?
    /// The label by `GroundTruth`'s rule.
    public var isDefective: Bool

    public var labelled: LabelledScore { LabelledScore(score: score, isDefective: isDefective) }
}

public enum LabelledScoring {
    /// Scores `samples` and reads their ground truth. Stops at the first unreadable image or mask (the error
    /// names the file): metrics and F1 thresholds over a silently reduced set would be misleading.
    public static func score(model: AnomalyModel, samples: [DatasetSample],
                             progress: (Int) -> Void = { _ in }) throws -> [ScoredSample] {
        var result: [ScoredSample] = []
        result.reserveCapacity(samples.count)
        try model.scoreFiles(samples.map(\.path), progress: progress) { index, outcome in
            let sample = samples[index]
            let scored = try outcome.get()
            let truth = try GroundTruth.truth(of: sample, size: model.size)
            result.append(ScoredSample(sample: sample, score: scored.score, map: scored.map, mask: truth.mask,
                                       isDefective: truth.isDefective))
        }
        return result
    }
}
