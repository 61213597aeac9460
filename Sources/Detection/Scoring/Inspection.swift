import Foundation

/// A trained model looking at images: the one interface the console and the command line share for
/// everything after training. Labels come from `GroundTruth`, thresholds from `ThresholdRule`, counts from
/// `ConfusionSummary`, the stored threshold is written by `ModelStore.saveThreshold`, pictures by `Exporter`.
///
///     let inspection = try Inspection(modelPath: "M")
///     let scored = try inspection.score(dataset.test)                   // scores, maps, labels
///     let t = try inspection.threshold(.f1, labelled: scored)           // any ThresholdRule
///     let counts = ConfusionSummary(scored.map(\.labelled), threshold: Double(t.value))
///     try inspection.saveThreshold(t.value, rule: .f1)
///     try inspection.export(dataset.test, threshold: .stored, manualFlags: [path], to: "out")
///
/// Not thread-safe (the model reuses its buffers): one thread owns an inspection.
public final class Inspection {
    public let model: AnomalyModel
    public var store: ModelStore { model.store }
    /// Receives what is worth saying but stops nothing: masks that are not pure 0/255, and in an export
    /// the images without a finite score (flagged).
    public var warn: (String) -> Void = { _ in }

    public init(model: AnomalyModel) { self.model = model }

    public convenience init(modelPath: String) throws { self.init(model: try AnomalyModel(path: modelPath)) }

    /// Scores, maps and labels of `samples`; stops at the first unreadable image or mask (named in the error).
    public func score(_ samples: [DatasetSample], progress: (Int) -> Void = { _ in }) throws -> [ScoredSample] {
        try LabelledScoring.score(model: model, samples: samples, warn: warn, progress: progress)
    }

    /// Unlabelled files (`stpm score`): an unreadable file is reported through `each` and the others are scored.
    /// `each` runs in the files' order, one call at a time, on any thread (`AnomalyModel.scoreFiles`).
    public func scoreFiles(_ paths: [String], each: (_ index: Int, _ result: Result<ImageScore, Error>) throws -> Void) throws {
        try model.scoreFiles(paths, each: each)
    }

    /// Image AUROC, pixel AUROC and AU-PRO of `dataset`'s test images, overall and per defect type, with the model
    /// at `modelPath`, which loads while the first test images are read.
    public static func evaluate(modelPath: String, _ dataset: MVTecDataset, warn: @escaping (String) -> Void,
                                progress: (_ done: Int, _ total: Int) -> Void = { _, _ in }) throws -> (Inspection, EvaluationReport) {
        let (model, report) = try Evaluation.run(modelPath: modelPath, dataset: dataset, warn: warn, progress: progress)
        let inspection = Inspection(model: model)
        inspection.warn = warn
        return (inspection, report)
    }

    /// What the rules may read: the stored threshold and held-out normal scores of the model, and `labelled`.
    public func evidence(labelled: [ScoredSample] = []) -> ThresholdEvidence {
        ThresholdEvidence(model: store, stored: model.config.threshold, normalScores: store.loadNormalScores(),
                          labelled: labelled.map(\.labelled))
    }

    public func threshold(_ rule: ThresholdRule, labelled: [ScoredSample] = []) throws -> Threshold {
        try rule.resolve(evidence(labelled: labelled))
    }

    /// Stores the threshold in config.json (see `ModelStore.saveThreshold`); returns the one it replaced.
    @discardableResult
    public func saveThreshold(_ value: Float, rule: ThresholdRule) throws -> Threshold? {
        try store.saveThreshold(value, rule: rule).previous
    }

    /// Scores `samples`, resolves `rule` over them and writes the export (see `Exporter`): images over the
    /// threshold or in `manualFlags` (sample paths) get a panel and a mask, and the report records both verdicts.
    /// A non-empty `outDir` is refused before any scoring unless `force`.
    public func export(_ samples: [DatasetSample], threshold rule: ThresholdRule, manualFlags: Set<String> = [],
                       to outDir: String, force: Bool = false,
                       progress: (ExportProgress) -> Void = { _ in }) throws -> ExportSummary {
        try Exporter.prepare(outDir, force: force)
        // An export must give every image a verdict: one without a finite score is kept, and flagged.
        let scored = try LabelledScoring.score(model: model, samples: samples, keepNonFinite: true, warn: warn) {
            progress(ExportProgress(phase: .scoring, done: $0, total: samples.count))
        }
        let threshold = try threshold(rule, labelled: scored)
        return try Exporter.write(scored, threshold: threshold, manualFlags: manualFlags, size: model.size,
                                  outDir: outDir, progress: progress)
    }
}
