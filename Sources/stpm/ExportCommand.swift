import ArgumentParser
import Foundation
import Detection

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write panels and predicted masks of the flagged test images of DATA, and a report of all of them.",
        discussion: """
        Per flagged image (score >= threshold): <type>_<name>_panel.png (image | heatmap overlay | predicted-mask \
        outline in red and ground-truth outline in green) and <type>_<name>_mask.png (map >= threshold per pixel, 0/255), \
        at model resolution; then report.csv and report.json for all images (path, type, score, flagged, threshold, \
        defective, over_threshold, manual_flag; the console's exports carry its flags by hand), written last. Threshold: the model's stored one unless --threshold, --f1 (over DATA's test \
        labels) or --percentile (of held-out normal scores) is given; it is not saved (see stpm threshold). \
        Every file is written atomically; on failure the command names the file and exits non-zero.
        """)

    @Argument(help: "Model directory (from stpm train).") var model: String
    @Argument(help: "Dataset root (MVTec AD layout).") var data: String
    @Option(help: "Output folder (must be empty or absent unless --force).") var out: String
    @Option(help: "Threshold value.") var threshold: Float?
    @Flag(help: "F1-optimal threshold over DATA's test images.") var f1 = false
    @Option(help: "Percentile (0-100) of the held-out normal scores.") var percentile: Double?
    @Flag(help: "Write into a non-empty --out, replacing files of the same name.") var force = false

    func validate() throws {
        guard [threshold != nil, f1, percentile != nil].filter({ $0 }).count <= 1 else {
            throw ValidationError("give at most one of --threshold T, --f1, --percentile P")
        }
    }

    func run() throws {
        let rule: ThresholdRule = f1 ? .f1 : threshold.map { .value($0) } ?? percentile.map { .percentile($0) } ?? .stored
        let dataset = try MVTecDataset(root: data)
        for problem in dataset.problems { warn(problem) }
        let inspection = try Inspection(modelPath: model)
        inspection.warn = warn
        let status = StatusLine()
        let summary = try inspection.export(dataset.test, threshold: rule, to: out, force: force) { p in
            status.show("\(p.phase == .scoring ? "scoring" : "writing") \(p.done)/\(p.total)")
        }
        status.clear()
        print("threshold \(formatScore(summary.threshold.value)) (\(summary.threshold.methodDescription))")
        print("flagged \(summary.flagged) of \(summary.images) test images (\(summary.truePositives) of them defective; \(summary.defective) defective in all)")
        print("wrote \(summary.filesWritten) files to \(summary.outDir): a panel and a mask per flagged image, report.csv, report.json")
    }
}
