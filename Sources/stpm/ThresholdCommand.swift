import ArgumentParser
import Foundation
import Detection

struct ThresholdCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "threshold",
        abstract: "Choose the decision threshold on image scores and store it in MODEL (used by score, export and the console).",
        discussion: """
        Exactly one of: --f1 DATA (F1-optimal over DATA's labelled test images), --no-escape DATA (the highest \
        threshold that still flags every defective image of DATA: recall 1), --percentile P (of the held-out \
        normal scores saved by training; training stores p99), --value T. An image is flagged when score >= threshold. \
        When DATA has only good images, F1 and recall are undefined: --f1 and --no-escape then use percentile 99. \
        Precision, recall, F1, the false-alarm rate and recall per defect type are printed when labels exist: \
        the test set of the --f1/--no-escape DATA, or --data DATA.
        """)

    @Argument(help: "Model directory (from stpm train).") var model: String
    @Option(help: "F1-optimal over this dataset's test images.") var f1: String?
    @Option(name: .customLong("no-escape"), help: "The highest threshold flagging every defective test image of this dataset.")
    var noEscape: String?
    @Option(help: "Percentile (0-100) of the held-out normal scores.") var percentile: Double?
    @Option(help: "A threshold value.") var value: Float?
    @Option(help: "Labelled dataset to report precision/recall/F1 on (default: the --f1 dataset).") var data: String?
    @OptionGroup var threading: ThreadArguments

    func validate() throws {
        guard [f1 != nil, noEscape != nil, percentile != nil, value != nil].filter({ $0 }).count == 1 else {
            throw ValidationError("give exactly one of --f1 DATA, --no-escape DATA, --percentile P, --value T")
        }
    }

    func run() throws {
        threading.apply()
        let inspection = try Inspection(modelPath: model)
        inspection.warn = warn
        let rule: ThresholdRule = f1 != nil ? .f1 : noEscape != nil ? .noEscape : percentile.map { .percentile($0) } ?? .value(value!)
        var labelled: [ScoredSample] = []
        let labelSource = f1 ?? noEscape ?? data
        if let labelSource {
            let dataset = try MVTecDataset(root: labelSource)
            for problem in dataset.problems { warn(problem) }
            let status = StatusLine()
            labelled = try inspection.score(dataset.test) { status.show("scoring \($0)/\(dataset.test.count)") }
            status.clear()
        }
        if let note = rule.fallbackNote(labelled: labelled.map(\.labelled)) { print(note) }
        let threshold = try inspection.threshold(rule, labelled: labelled)
        let previous = try inspection.saveThreshold(threshold.value, rule: rule)

        print("threshold \(formatScore(threshold.value)) (\(threshold.methodDescription))"
              + (previous.map { ", was \(formatScore($0.value)) (\($0.methodDescription))" } ?? ""))
        if let labelSource {
            let c = ConfusionSummary(labelled.map(\.labelled), threshold: Double(threshold.value))
            print(String(format: "on %@ test images: precision %.3f  recall %.3f  F1 %.3f  (tp %d, fp %d, tn %d, fn %d)",
                         labelSource, c.precision ?? 0, c.recall ?? 0, c.f1 ?? 0, c.tp, c.fp, c.tn, c.fn))
            if let rate = c.falseAlarmRate {
                print(String(format: "false alarms: %d of %d good images (%.1f %%)", c.fp, c.fp + c.tn, 100 * rate))
            }
            let perType = recallByType(types: labelled.map(\.sample.defectType), scores: labelled.map(\.score),
                                       labels: labelled.map(\.isDefective), threshold: threshold.value)
            for t in perType {
                print("  recall \(t.type): \(t.flagged)/\(t.total)" + String(format: " (%.2f)", t.recall))
            }
        }
        let normal = inspection.store.loadNormalScores()
        if !normal.isEmpty {
            print("held-out normal images flagged: \(normal.filter { threshold.flags($0) }.count) of \(normal.count)")
        }
        print("saved in \(inspection.store.configFile)")
    }
}
