import Foundation
import XCTest
import ImageIO
@testable import Detection
import TestSupport

/// The inspection handle through real files: labels from masks on disk, thresholds saved into and read
/// back from config.json, exports read back from report.csv and report.json.
final class InspectionTests: XCTestCase {
    func writeMask(_ on: [Int], side: Int, to path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        var pixels = [UInt8](repeating: 0, count: side * side)
        for p in on { pixels[p] = 255 }
        try PNGFile.write(Image8(width: side, height: side, channels: 1, pixels: pixels), path: path)
    }

    /// Mask when present (any pixel above 127 at the mask's own resolution), folder otherwise.
    func testGroundTruthLabelsByMaskThenFolder() throws {
        let dir = try TemporaryDirectory("stpm-truth")
        let images = ["train/good/a.png", "test/good/b.png", "test/cut/empty.png", "test/cut/tiny.png", "test/cut/nomask.png"]
        for f in images {
            try FileManager.default.createDirectory(atPath: (dir.file(f) as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: dir.file(f), contents: Data())
        }
        try writeMask([], side: 128, to: dir.file("ground_truth/cut/empty_mask.png"))
        // One pixel at (0, 0): nearest-neighbour shrinking to 64 px samples the odd pixels, so it vanishes there.
        try writeMask([0], side: 128, to: dir.file("ground_truth/cut/tiny_mask.png"))
        let dataset = try MVTecDataset(root: dir.path)
        let byName = Dictionary(uniqueKeysWithValues: (dataset.train + dataset.test).map { (($0.path as NSString).lastPathComponent, $0) })
        XCTAssertNil(try GroundTruth.isDefective(byName["a.png"]!), "training images carry no label")
        XCTAssertEqual(try GroundTruth.isDefective(byName["b.png"]!), false)
        XCTAssertEqual(try GroundTruth.isDefective(byName["empty.png"]!), false, "an empty mask labels a defect-folder image good")
        XCTAssertEqual(try GroundTruth.isDefective(byName["nomask.png"]!), true, "no mask: labelled by its folder")
        let tiny = try GroundTruth.truth(of: byName["tiny.png"]!, size: 64, imageWidth: 128, imageHeight: 128)
        XCTAssertTrue(tiny.isDefective, "the label does not depend on the model size")
        XCTAssertEqual(tiny.mask?.count, 64 * 64)
        XCTAssertEqual(tiny.mask?.contains(true), false, "the defect pixel is gone at model resolution")
        XCTAssertEqual(try GroundTruth.isDefective(byName["tiny.png"]!), tiny.isDefective)
        XCTAssertNil(try GroundTruth.truth(of: byName["nomask.png"]!, size: 64, imageWidth: 128, imageHeight: 128).mask)
        XCTAssertEqual(try GroundTruth.truth(of: byName["b.png"]!, size: 4, imageWidth: 128, imageHeight: 128).mask, [Bool](repeating: false, count: 16))
    }

    func testUnreadableMaskIsNamed() throws {
        let dir = try TemporaryDirectory("stpm-truth")
        let sample = DatasetSample(path: dir.file("x.png"), split: .test, defectType: "cut", maskPath: dir.file("x_mask.png"))
        XCTAssertThrowsError(try GroundTruth.isDefective(sample)) { XCTAssertTrue("\($0)".contains("x_mask.png"), "\($0)") }
    }

    /// Evaluation reads its first images while the weights load: the hook runs with the checked configuration
    /// before the teacher is hashed (here it does not match, so loading fails after the hook).
    func testWhileLoadingRunsBeforeTheWeightsAreHashed() throws {
        let dir = try TemporaryDirectory("stpm-loading")
        let model = dir.file("model")
        try FileManager.default.copyItem(atPath: try SyntheticSet.trainedModel(), toPath: model)
        let configPath = model + "/config.json"
        var config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: configPath))) as! [String: Any]
        config["teacherWeightsSHA256"] = String(repeating: "0", count: 64)
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
        var seen: Int?
        XCTAssertThrowsError(try AnomalyModel(path: model) { seen = $0.size }) { XCTAssertTrue("\($0)".contains("sha256"), "\($0)") }
        XCTAssertEqual(seen, SyntheticSet.size)
    }

    /// The weights are hashed on one thread while the other parses them, but the errors come as a serial load
    /// gives them: a teacher that differs from the trained one is refused by its digest even when it is also
    /// unparsable and the student is missing; a parsable but different student by its own digest.
    func testWeightErrorsComeInTheOrderOfASerialLoad() throws {
        let dir = try TemporaryDirectory("stpm-loading-order")
        let model = dir.file("model")
        try FileManager.default.copyItem(atPath: try SyntheticSet.trainedModel(), toPath: model)
        let configPath = model + "/config.json"
        let original = try Data(contentsOf: URL(fileURLWithPath: configPath))
        var config = try JSONSerialization.jsonObject(with: original) as! [String: Any]
        let teacher = dir.file("teacher.safetensors")
        try Data("not a safetensors file".utf8).write(to: URL(fileURLWithPath: teacher))
        config["teacherWeights"] = teacher
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
        let student = try Data(contentsOf: URL(fileURLWithPath: model + "/student.safetensors"))
        try FileManager.default.removeItem(atPath: model + "/student.safetensors")
        XCTAssertThrowsError(try AnomalyModel(path: model)) {
            XCTAssertTrue("\($0)".contains("teacher.safetensors is damaged: its sha256"), "\($0)")
        }
        // The right teacher again: now the missing student is what is wrong.
        try original.write(to: URL(fileURLWithPath: configPath))
        XCTAssertThrowsError(try AnomalyModel(path: model)) { XCTAssertTrue("\($0)".contains("has no trained student yet"), "\($0)") }
        // A student whose last tensor value differs still parses, and is refused by its digest.
        var changed = student
        changed[changed.count - 1] ^= 0x01
        try changed.write(to: URL(fileURLWithPath: model + "/student.safetensors"))
        XCTAssertThrowsError(try AnomalyModel(path: model)) {
            XCTAssertTrue("\($0)".contains("student.safetensors does not match the sha256"), "\($0)")
        }
        try student.write(to: URL(fileURLWithPath: model + "/student.safetensors"))
        XCTAssertNoThrow(try AnomalyModel(path: model))
    }

    /// saveThreshold is the one writer of config.json's threshold; a reopened model reads it back.
    func testSavedThresholdRoundTripsThroughConfig() throws {
        let dir = try TemporaryDirectory("stpm-inspection")
        let path = try SyntheticSet.modelCopy(in: dir)
        let trained = try Inspection(modelPath: path).threshold(.stored)
        XCTAssertEqual(trained.choice, .percentile(99), "training stores p99 of the held-out normal scores")

        XCTAssertEqual(try Inspection(modelPath: path).saveThreshold(0.3, rule: .f1), trained)
        XCTAssertEqual(try Inspection(modelPath: path).threshold(.stored), Threshold(choice: .f1, value: 0.3))
        // The console saves a threshold it has not moved with the rule .stored: the method is kept.
        try ModelStore(path: path).saveThreshold(0.3, rule: .stored)
        XCTAssertEqual(try ModelStore(path: path).loadConfig().threshold, Threshold(choice: .f1, value: 0.3))
        try ModelStore(path: path).saveThreshold(0.25, rule: .value(0.25))
        XCTAssertEqual(try ModelStore(path: path).loadConfig().threshold, manualThreshold(0.25))
        try ModelStore(path: path).saveThreshold(0.2, rule: .percentile(90))
        XCTAssertEqual(try Inspection(modelPath: path).threshold(.stored), Threshold(choice: .percentile(90), value: 0.2))

    }

    struct Report: Decodable {
        var threshold: Threshold
        var flagged: Int
        var images: [ExportRow]
    }

    /// flagged = over the threshold or flagged by hand; both verdicts are in report.csv and report.json,
    /// and the hand-flagged image gets its panel and mask.
    func testExportRecordsManualFlagsBesideTheThreshold() throws {
        let dir = try TemporaryDirectory("stpm-export")
        let out = dir.file("out")
        let inspection = try Inspection(model: SyntheticSet.model())
        let test = try MVTecDataset(root: SyntheticSet.data).test
        let byHand = test.first { $0.defectType == "good" }!.path
        let scored = try inspection.score(test)
        let threshold = scored.filter { $0.isDefective }.map(\.score).min()!
        let summary = try inspection.export(test, threshold: .value(threshold), manualFlags: [byHand], to: out)
        let over = scored.filter { $0.score >= threshold }.map(\.sample.path)
        XCTAssertFalse(over.contains(byHand), "the hand-flagged image is under the threshold")
        XCTAssertEqual(summary.flagged, over.count + 1)
        XCTAssertEqual(summary.manuallyFlagged, 1)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/good_000_panel.png"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/good_000_mask.png"))

        let report = try JSONDecoder().decode(Report.self, from: Data(contentsOf: URL(fileURLWithPath: out + "/report.json")))
        XCTAssertEqual(report.flagged, summary.flagged)
        XCTAssertEqual(report.threshold, manualThreshold(threshold))
        XCTAssertEqual(report.images.map(\.path), scored.map(\.sample.path))
        XCTAssertEqual(report.images.map(\.score), scored.map(\.score))
        XCTAssertEqual(report.images.map(\.defective), scored.map(\.isDefective))
        XCTAssertEqual(report.images.filter(\.manualFlag).map(\.path), [byHand])
        XCTAssertEqual(report.images.filter(\.overThreshold).map(\.path), over)
        XCTAssertEqual(report.images.filter(\.flagged).map(\.path).sorted(), (over + [byHand]).sorted())

        let csv = try String(contentsOfFile: out + "/report.csv", encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
        let row = try XCTUnwrap(csv.first { $0[0] == byHand })
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: zip(csv[0], row))
            .filter { ["flagged", "over_threshold", "manual_flag"].contains($0.key) }, ["flagged": "true", "over_threshold": "false", "manual_flag": "true"])
    }

    func testExportRefusesAFlagOutsideItsImages() throws {
        let dir = try TemporaryDirectory("stpm-export")
        let test = try MVTecDataset(root: SyntheticSet.data).test
        XCTAssertThrowsError(try Inspection(model: SyntheticSet.model()).export(test, threshold: .stored, manualFlags: ["/elsewhere.png"],
                                                                            to: dir.file("out"))) { error in
            XCTAssertTrue("\(error)".contains("/elsewhere.png"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.file("out/report.csv")))
    }
}
