import ArgumentParser
import Foundation
import Detection

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Image AUROC, pixel AUROC and AU-PRO@0.3 of MODEL on DATA/test, overall and per defect type.",
        discussion: """
        Labels come from the masks: an image is defective when its mask (as stored) has a nonzero pixel. A defect-folder image \
        without a mask is listed, counted as defective for image AUROC and left out of the pixel metrics. \
        Per-type rows score that type's images together with all good test images. \
        An unreadable image or mask stops the evaluation (its path is named).
        """)

    @Argument(help: "Model directory (from stpm train).") var model: String
    @Argument(help: "Dataset root (MVTec AD layout).") var data: String
    @Option(help: "Also write the results as JSON to this file.") var json: String?

    func run() throws {
        let dataset = try MVTecDataset(root: data)
        for problem in dataset.problems { warn(problem) }
        let inspection = try Inspection(modelPath: model)
        inspection.warn = warn
        let status = StatusLine()
        let report = try inspection.evaluate(dataset) { status.show("scoring \($0)/\($1)") }
        status.clear()
        let good = dataset.test.filter { $0.defectType == "good" }.count
        print("\(model) on \(data): \(report.overall.images) test images at \(inspection.model.size)x\(inspection.model.size)")
        print(table(report))
        print("Each defect type is scored together with all \(good) good test images (as per-category tables in MVTec AD and anomalib do).")
        if !report.withoutMask.isEmpty {
            print("\(report.withoutMask.count) defective images without a mask count in image AUROC only: " + report.withoutMask.joined(separator: ", "))
        }
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
