import Foundation

/// One test image as scored by both models, each flag at that model's own threshold.
public struct PairedScore: Sendable {
    public var sample: DatasetSample
    public var scoreA: Float
    public var scoreB: Float
    public var flaggedA: Bool
    public var flaggedB: Bool
    /// Defective when either model's mask says so: masks are resized to each model's size, and a hairline
    /// defect can vanish at the smaller one while the image is still defective.
    public var isDefective: Bool

    public var disagree: Bool { ModelComparison.disagree(flaggedA: flaggedA, flaggedB: flaggedB) }
}

/// One row of a comparison: both models' metrics on one group and DeLong's test of their image AUROCs.
public struct ComparisonRow: Sendable {
    public var name: String
    public var a: EvaluationMetrics
    public var b: EvaluationMetrics
    public var deLong: DeLongTest
}

public struct ComparisonReport: Sendable {
    public var thresholdA: Threshold
    public var thresholdB: Threshold
    /// "all", then each defect type with every good test image (as `stpm eval`).
    public var rows: [ComparisonRow]
    public var images: [PairedScore]
    public var seconds: Double

    /// Flagged by exactly one of the two models.
    public var disagreements: [PairedScore] { images.filter(\.disagree) }

    /// {"all": row, "per_type": {type: row}, "threshold_a", "threshold_b", "disagreements": [path],
    /// "images": [{path, type, defective, score_a, score_b, flagged_a, flagged_b}], "seconds"}; a row holds
    /// "a" and "b" (as `stpm eval --json`), "auroc_difference" (B - A), "delong_z", "delong_p". Undefined values are null.
    public func json(modelA: String, modelB: String) throws -> Data {
        func number(_ x: Double) -> Any { x.isFinite ? x : NSNull() }
        func metrics(_ m: EvaluationMetrics) -> [String: Any] {
            ["image_auroc": number(m.imageAUROC), "pixel_auroc": number(m.pixelAUROC), "aupro_0.3": number(m.auPRO),
             "images": m.images, "defective": m.defective]
        }
        func row(_ r: ComparisonRow) -> [String: Any] {
            ["a": metrics(r.a), "b": metrics(r.b), "auroc_difference": number(r.deLong.difference),
             "delong_variance": number(r.deLong.variance), "delong_z": number(r.deLong.z), "delong_p": number(r.deLong.pValue)]
        }
        let root: [String: Any] = [
            "model_a": modelA, "model_b": modelB,
            "threshold_a": Double(thresholdA.value), "threshold_b": Double(thresholdB.value),
            "all": row(rows[0]),
            "per_type": Dictionary(uniqueKeysWithValues: rows.dropFirst().map { ($0.name, row($0)) }),
            "disagreements": disagreements.map(\.sample.path),
            "images": images.map { ["path": $0.sample.path, "type": $0.sample.defectType, "defective": $0.isDefective,
                                    "score_a": Double($0.scoreA), "score_b": Double($0.scoreB),
                                    "flagged_a": $0.flaggedA, "flagged_b": $0.flaggedB] as [String: Any] },
            "seconds": seconds,
        ]
        return try JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }
}

public enum ModelComparison {
    /// Flagged by exactly one of the two models: what the comparison lists and the console filters on.
    public static func disagree(flaggedA: Bool, flaggedB: Bool) -> Bool { flaggedA != flaggedB }

    /// Live verdicts at thresholds the user moves (the console): each score flagged by `Threshold`'s rule at
    /// its model's threshold; an image one model has not scored yet is no disagreement.
    public static func disagree(scoreA: Double?, thresholdA: Double, scoreB: Double?, thresholdB: Double) -> Bool {
        guard let scoreA, let scoreB else { return false }
        return disagree(flaggedA: Threshold.flags(scoreA, at: thresholdA), flaggedB: Threshold.flags(scoreB, at: thresholdB))
    }

    /// Scores DATA's test images with both models and compares them, each flagging at its stored threshold.
    /// Stops at the first unreadable image or mask, or a model without a stored threshold.
    public static func run(modelA: AnomalyModel, modelB: AnomalyModel, dataset: MVTecDataset,
                           progress: (_ model: String, _ done: Int, _ total: Int) -> Void = { _, _, _ in }) throws -> ComparisonReport {
        let started = Date()
        guard !dataset.test.isEmpty else { throw EvaluationError.noTestImages(dataset.root) }
        let inspectionA = Inspection(model: modelA), inspectionB = Inspection(model: modelB)
        let thresholdA = try inspectionA.threshold(.stored)
        let thresholdB = try inspectionB.threshold(.stored)
        let a = try inspectionA.score(dataset.test) { progress("A", $0, dataset.test.count) }
        let b = try inspectionB.score(dataset.test) { progress("B", $0, dataset.test.count) }
        var result = report(a: a, sizeA: modelA.size, thresholdA: thresholdA, b: b, sizeB: modelB.size, thresholdB: thresholdB)
        result.seconds = Date().timeIntervalSince(started)
        return result
    }

    /// The comparison of two scorings of the same samples in the same order (`seconds` is left 0).
    public static func report(a: [ScoredSample], sizeA: Int, thresholdA: Threshold,
                              b: [ScoredSample], sizeB: Int, thresholdB: Threshold) -> ComparisonReport {
        precondition(a.map(\.sample) == b.map(\.sample), "ModelComparison: the two scorings cover different images")
        // One label per image for both models' metrics and the test.
        var a = a, b = b
        for i in a.indices {
            let defective = a[i].isDefective || b[i].isDefective
            (a[i].isDefective, b[i].isDefective) = (defective, defective)
        }
        let paired = zip(a, b).map { a, b in
            PairedScore(sample: a.sample, scoreA: a.score, scoreB: b.score, flaggedA: thresholdA.flags(a.score),
                        flaggedB: thresholdB.flags(b.score), isDefective: a.isDefective)
        }
        let reportA = Evaluation.report(a, size: sizeA), reportB = Evaluation.report(b, size: sizeB)
        let metricsA = [reportA.overall] + reportA.perType.map(\.metrics)
        let metricsB = [reportB.overall] + reportB.perType.map(\.metrics)
        let groups = Evaluation.defectTypeGroups(paired, type: \.sample.defectType)
        let rows = groups.indices.map { i in
            let items = groups[i].items
            return ComparisonRow(name: groups[i].name, a: metricsA[i], b: metricsB[i],
                                 deLong: DeLongTest(scoresA: items.map(\.scoreA), scoresB: items.map(\.scoreB), labels: items.map(\.isDefective)))
        }
        return ComparisonReport(thresholdA: thresholdA, thresholdB: thresholdB, rows: rows, images: paired, seconds: 0)
    }
}
