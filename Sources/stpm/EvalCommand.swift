import ArgumentParser
import Foundation
import Detection

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Image AUROC, pixel AUROC and AU-PRO@0.3 of MODEL on DATA/test, overall and per defect type.",
        discussion: """
        DATA is an MVTec AD root; or give --normal DIR --abnormal DIR [--masks DIR] (anomalib's folder layout: \
        a subfolder of --abnormal names the defect type; masks are matched by file stem). \
        Labels come from the masks: an image is defective when its mask (as stored) has a nonzero pixel. A defect-folder image \
        without a mask counts as defective for image AUROC and is left out of the pixel metrics (one line says how many). \
        Per-type rows score that type's images together with all good test images. \
        An unreadable image or mask stops the evaluation (its path is named).
        """)

    @Argument(help: "Model directory (from stpm train).") var model: String
    @Argument(help: "Dataset root (MVTec AD layout).") var data: String?
    @OptionGroup var folders: LabelledFolderArguments
    @Option(help: "Also write the results as JSON to this file.") var json: String?
    @OptionGroup var threading: ThreadArguments

    func validate() throws { try folders.validate(data: data) }

    func run() throws {
        threading.apply()
        let dataset = try folders.dataset(data: data)
        for problem in dataset.problems { warn(problem) }
        let data = self.data ?? dataset.root
        let status = StatusLine()
        let (inspection, report) = try Inspection.evaluate(modelPath: model, dataset, warn: warn) { status.show("scoring \($0)/\($1)") }
        status.clear()
        let good = dataset.test.filter { $0.defectType == "good" }.count
        print("\(model) on \(data): \(report.overall.images) test images at \(inspection.model.size)x\(inspection.model.size)")
        print(table(report))
        print("Each defect type is scored together with all \(good) good test images (as per-category tables in MVTec AD and anomalib do).")
        print(String(format: "%.1f s", report.seconds))
        if let json {
            try writeAtomically(try report.json(), to: json)
            print("wrote \(json)")
        }
    }

    func table(_ report: EvaluationReport) -> String {
        let rows = [("all", report.overall)] + report.perType.map { ($0.type, $0.metrics) }
        let width = max(12, rows.map(\.0.count).max()!)
        func metric(_ x: Double) -> String { x.isFinite ? String(format: "%.4f", x) : "-" }
        func line(_ cells: [String]) -> String {
            cells[0].padding(toLength: width, withPad: " ", startingAt: 0)
                + zip(cells.dropFirst(), [8, 11, 13, 13, 12]).map { String(repeating: " ", count: max(1, $1 - $0.count)) + $0 }.joined()
        }
        let head = line(["type", "images", "defective", "image AUROC", "pixel AUROC", "AU-PRO@0.3"])
        return ([head] + rows.map { name, m in
            line([name, String(m.images), String(m.defective), metric(m.imageAUROC), metric(m.pixelAUROC), metric(m.auPRO)])
        }).joined(separator: "\n")
    }
}

/// Labelled test images from anomalib-style folders, instead of an MVTec AD root.
struct LabelledFolderArguments: ParsableArguments {
    @Option(help: "Folder of good images (with --abnormal, instead of DATA).") var normal: String?
    @Option(help: "Folder of defective images; a subfolder's name is its images' defect type.") var abnormal: String?
    @Option(help: "Folder of ground-truth masks for --abnormal, matched by file stem (<stem> or <stem>_mask).") var masks: String?

    func validate(data: String?) throws {
        guard (data != nil) != (normal != nil || abnormal != nil) else {
            throw ValidationError("give either DATA (MVTec AD layout) or --normal DIR --abnormal DIR [--masks DIR]")
        }
        guard data != nil || (normal != nil && abnormal != nil) else { throw ValidationError("--normal and --abnormal go together") }
        guard masks == nil || abnormal != nil else { throw ValidationError("--masks goes with --normal and --abnormal") }
    }

    func dataset(data: String?) throws -> MVTecDataset {
        if let data { return try MVTecDataset(root: data) }
        return try MVTecDataset(normal: normal!, abnormal: abnormal!, masks: masks)
    }
}
