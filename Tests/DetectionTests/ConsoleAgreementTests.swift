import Foundation
import XCTest
import ImageIO
@testable import Detection
@testable import Console
import TestSupport

/// The console and the command line ask the same engine: the same labels, F1 and export.
final class ConsoleAgreementTests: XCTestCase {
    /// The synthetic dataset plus a scratched image whose mask is empty: a defect by its folder, good by
    /// its mask, so a console labelling by folder would count it as a hit where the engine counts a false alarm.
    func datasetWithAnEmptyMask(in dir: TemporaryDirectory) throws -> String {
        _ = try SyntheticSet.trainedModel()
        let data = dir.file("data")
        try FileManager.default.copyItem(atPath: SyntheticSet.data, toPath: data)
        try FileManager.default.copyItem(atPath: data + "/test/scratch/000.png", toPath: data + "/test/scratch/002.png")
        let side = SyntheticSet.size
        try PNGFile.write(Image8(width: side, height: side, channels: 1, pixels: [UInt8](repeating: 0, count: side * side)),
                          path: data + "/ground_truth/scratch/002_mask.png")
        return data
    }

    /// The console's rows as its scorer fills them: labels from the dataset index, scores from the model.
    func consoleState(_ index: DatasetIndex, model: AnomalyModel) throws -> ConsoleState {
        var state = ConsoleState()
        state.rows = index.rows
        let ids = index.testIDs
        let (_, scores) = model.score(try ids.map { try ImagePreparation.load(index.samples[$0].path, size: model.size) })
        for (id, score) in zip(ids, scores) { state.rows[id].score = Double(score) }
        return state
    }

    func testConsoleF1EqualsThresholdCommandWithAnEmptyMask() throws {
        let dir = try TemporaryDirectory("stpm-agreement")
        let data = try datasetWithAnEmptyMask(in: dir)
        let modelPath = try SyntheticSet.modelCopy(in: dir)
        let index = DatasetIndex(try MVTecDataset(root: data))
        let state = try consoleState(index, model: try AnomalyModel(path: modelPath))

        // What `f` does: the engine's F1 rule over the console's labelled rows, shown in the threshold pane.
        let evidence = ThresholdEvidence(model: ModelStore(path: modelPath), stored: nil, normalScores: [], labelled: state.labelledScores)
        let threshold = try ThresholdRule.f1.resolve(evidence)
        let counts = ConfusionSummary(state.labelledScores, threshold: Double(threshold.value))
        var shown = state
        shown.threshold = Double(threshold.value)
        XCTAssertTrue(ThresholdPane().summary(shown, width: 200).joined().contains("F1 \(NumberFormat.short(counts.f1!))"))

        let cli = try SyntheticSet.stpm(["threshold", modelPath, "--f1", data])
        XCTAssertEqual(cli.status, 0, cli.output)
        XCTAssertTrue(cli.output.contains("threshold \(formatScore(threshold.value)) (F1-optimal)"), cli.output)
        XCTAssertTrue(cli.output.contains(String(format: "F1 %.3f  (tp %d, fp %d, tn %d, fn %d)",
                                                 counts.f1!, counts.tp, counts.fp, counts.tn, counts.fn)), cli.output)

        // The dataset does tell the rules apart: by folder the empty-mask image would be a hit.
        let byFolder = index.testIDs.map { id in
            LabelledScore(score: Float(state.rows[id].score!), isDefective: index.samples[id].defectType != "good")
        }
        XCTAssertNotEqual(byFolder, state.labelledScores)
        XCTAssertEqual(state.rows.first { $0.name == "test/scratch/002.png" }?.label, .normal)
    }

    /// Space in the list flags an image by hand; `e` exports it with its flag in the report.
    func testManualFlagFromTheConsoleReachesTheExportReport() throws {
        let dir = try TemporaryDirectory("stpm-agreement")
        let model = try SyntheticSet.model()
        let index = DatasetIndex(try MVTecDataset(root: SyntheticSet.data))
        var state = try consoleState(index, model: model)
        state.scope = "test/good/"
        state.sort = .name
        XCTAssertEqual(state.selectedRow?.name, "test/good/000.png")
        XCTAssertNil(state.handle(.char(" ")))
        let (samples, manualFlags) = index.exportSelection(state.rows)
        XCTAssertEqual(samples, index.testSamples)
        let out = dir.file("export")
        _ = try Inspection(model: model).export(samples, threshold: .value(.greatestFiniteMagnitude), manualFlags: manualFlags, to: out)
        let lines = try String(contentsOfFile: out + "/report.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.filter { $0.hasSuffix(",true") }.map { String($0.prefix { $0 != "," }) }, [SyntheticSet.data + "/test/good/000.png"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/good_000_panel.png"))
    }
}
