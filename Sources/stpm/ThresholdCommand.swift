import ArgumentParser
import Foundation
import Detection

struct ThresholdCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "threshold",
        abstract: "Choose the decision threshold on image scores and store it in MODEL (used by score, export and the console).",
        discussion: """
        Exactly one of: --f1 DATA (F1-optimal over DATA's labelled test images), --percentile P (of the held-out \
        normal scores saved by training; training stores p99), --value T. An image is flagged when score >= threshold. \
        Precision, recall and F1 are printed when labels exist: DATA's test set for --f1, or --data DATA.
        """)

    @Argument(help: "Model directory (from stpm train).") var model: String
    @Option(help: "F1-optimal over this dataset's test images.") var f1: String?
    @Option(help: "Percentile (0-100) of the held-out normal scores.") var percentile: Double?
    @Option(help: "A threshold value.") var value: Float?
    @Option(help: "Labelled dataset to report precision/recall/F1 on (default: the --f1 dataset).") var data: String?

    func validate() throws {
        guard [f1 != nil, percentile != nil, value != nil].filter({ $0 }).count == 1 else {
            throw ValidationError("give exactly one of --f1 DATA, --percentile P, --value T")
        }
    }

    func run() throws {
        let inspection = try Inspection(modelPath: model)
        inspection.warn = warn
        let rule: ThresholdRule = f1 != nil ? .f1 : percentile.map { .percentile($0) } ?? .value(value!)
        var labelled: [ScoredSample] = []
        let labelSource = f1 ?? data
        if let labelSource {
            let dataset = try MVTecDataset(root: labelSource)
            for problem in dataset.problems { warn(problem) }
            let status = StatusLine()
            labelled = try inspection.score(dataset.test) { status.show("scoring \($0)/\(dataset.test.count)") }
            status.clear()
        }
        let threshold = try inspection.threshold(rule, labelled: labelled)
        let previous = try inspection.saveThreshold(threshold.value, rule: rule)

        print("threshold \(formatScore(threshold.value)) (\(threshold.methodDescription))"
              + (previous.map { ", was \(formatScore($0.value)) (\($0.methodDescription))" } ?? ""))
        if let labelSource {
            let c = ConfusionSummary(labelled.map(\.labelled), threshold: Double(threshold.value))
            print(String(format: "on %@ test images: precision %.3f  recall %.3f  F1 %.3f  (tp %d, fp %d, tn %d, fn %d)",
                         labelSource, c.precision ?? 0, c.recall ?? 0, c.f1 ?? 0, c.tp, c.fp, c.tn, c.fn))
        }
        let normal = inspection.store.loadNormalScores()
        if !normal.isEmpty {
            print("held-out normal images flagged: \(normal.filter { threshold.flags($0) }.count) of \(normal.count)")
        }
        print("saved in \(inspection.store.configFile)")
    }
}
