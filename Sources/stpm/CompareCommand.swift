import ArgumentParser
import Foundation
import Detection

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two models on DATA/test: image AUROC, pixel AUROC, AU-PRO@0.3, DeLong's test, disagreements.",
        discussion: """
        Both models score every test image. Rows are as in `stpm eval` (per defect type: that type's images with all \
        good test images). B-A is the difference of the image AUROCs and p its two-sided p-value by DeLong's test \
        for two correlated ROC curves (the same images scored by both): a small p (say below 0.05) means the \
        difference is unlikely to be chance on this test set. The images listed are flagged by one model only, \
        each model at its own stored threshold (set with `stpm threshold`).
        """)

    @Argument(help: "Model A directory.") var a: String
    @Argument(help: "Model B directory.") var b: String
    @Argument(help: "Dataset root (MVTec AD layout).") var data: String
    @Option(help: "Also write the results (with every image's two scores) as JSON to this file.") var json: String?
    @OptionGroup var threading: ThreadArguments

    func run() throws {
        threading.apply()
        let dataset = try MVTecDataset(root: data)
        for problem in dataset.problems { warn(problem) }
        let modelA = try AnomalyModel(path: a), modelB = try AnomalyModel(path: b)
        let status = StatusLine()
        let report = try ModelComparison.run(modelA: modelA, modelB: modelB, dataset: dataset) { status.show("scoring with \($0): \($1)/\($2)") }
        status.clear()
        for (name, path, model, threshold) in [("A", a, modelA, report.thresholdA), ("B", b, modelB, report.thresholdB)] {
            print("\(name) = \(path) (\(model.config.backbone.rawValue), \(model.size) px, threshold \(formatScore(threshold.value)): \(threshold.methodDescription))")
        }
        print("on \(data): \(report.images.count) test images, \(report.images.filter(\.isDefective).count) defective\n")
        print(Self.table(report.rows))
        print("\n" + Self.verdict(report.rows[0].deLong))
        print("\n" + Self.disagreementList(report, under: dataset.root + "/test/"))
        print(String(format: "\n%.1f s", report.seconds))
        if let json {
            try writeAtomically(try report.json(modelA: a, modelB: b), to: json)
            print("wrote \(json)")
        }
    }

    static func table(_ rows: [ComparisonRow]) -> String {
        let width = max(13, rows.map(\.name.count).max()!)
        func metric(_ x: Double) -> String { x.isFinite ? String(format: "%.4f", x) : "-" }
        func signed(_ x: Double) -> String { x.isFinite ? String(format: "%+.4f", x) : "-" }
        func p(_ x: Double) -> String { !x.isFinite ? "-" : x >= 0.001 ? String(format: "%.3f", x) : String(format: "%.1e", x) }
        let widths = [7, 10, 8, 8, 9, 9, 9, 8, 9, 8]
        func line(_ cells: [String]) -> String {
            cells[0].padding(toLength: width, withPad: " ", startingAt: 0)
                + zip(cells.dropFirst(), widths).map { String(repeating: " ", count: max(1, $1 - $0.count)) + $0 }.joined()
        }
        let groups = String(repeating: " ", count: width + 17) + "image AUROC A / B, B-A, DeLong p   pixel AUROC A / B   AU-PRO@0.3 A / B"
        let head = line(["type", "images", "defective", "A", "B", "B-A", "p", "A", "B", "A", "B"])
        return ([groups, head] + rows.map { r in
            line([r.name, String(r.a.images), String(r.a.defective), metric(r.deLong.aucA), metric(r.deLong.aucB),
                  signed(r.deLong.difference), p(r.deLong.pValue), metric(r.a.pixelAUROC), metric(r.b.pixelAUROC),
                  metric(r.a.auPRO), metric(r.b.auPRO)])
        }).joined(separator: "\n")
    }

    static func verdict(_ t: DeLongTest) -> String {
        guard t.pValue.isFinite else { return "DeLong's test needs at least two defective and two good images." }
        let direction = t.difference == 0 ? "The image AUROCs are equal" :
            String(format: "%@'s image AUROC is higher by %.4f", t.difference > 0 ? "B" : "A", abs(t.difference))
        let reading = t.pValue < 0.05 ? "unlikely to be chance (p < 0.05)" : "not significant at 0.05: this test set cannot tell them apart"
        return direction + String(format: "; DeLong z = %.3f, p = %.3g: ", t.z, t.pValue) + reading + "."
    }

    /// `under` is left off the paths (the dataset's test folder).
    static func disagreementList(_ report: ComparisonReport, under: String) -> String {
        let list = report.disagreements
        guard !list.isEmpty else { return "The two models flag the same images." }
        func name(_ item: PairedScore) -> String {
            item.sample.path.hasPrefix(under) ? String(item.sample.path.dropFirst(under.count)) : item.sample.path
        }
        let width = list.map { name($0).count }.max()!
        let lines = list.map { item in
            let who = item.flaggedA ? "A only" : "B only"
            return "  \(who)  " + name(item).padding(toLength: width, withPad: " ", startingAt: 0)
                + "  A " + formatScore(item.scoreA).padding(toLength: 8, withPad: " ", startingAt: 0)
                + " B " + formatScore(item.scoreB).padding(toLength: 8, withPad: " ", startingAt: 0)
                + (item.isDefective ? " defective" : " good")
        }
        let right = (a: list.filter { $0.flaggedA == $0.isDefective }.count, b: list.filter { $0.flaggedB == $0.isDefective }.count)
        return "\(list.count) images flagged by one model only (A right on \(right.a), B right on \(right.b)):\n" + lines.joined(separator: "\n")
    }
}
