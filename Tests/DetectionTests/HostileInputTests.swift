import Foundation
import XCTest
import ImageIO
import Numerics
import Backbones
import TestSupport
@testable import Detection

/// The rules behind the bad-input catalogue (Tests/CLITests), checked directly and fast.
final class HostileInputTests: XCTestCase {
    func config() -> ModelConfig {
        var o = TrainingOptions()
        o.size = 64
        return ModelConfig(backbone: o.backbone, tapChannels: o.backbone.tapChannels, size: 64,
                           normalization: o.backbone.normalizationDescription, teacherWeights: "/w",
                           teacherWeightsSHA256: String(repeating: "a", count: 64), training: o, trainImages: 4,
                           validationImages: 1, bestEpoch: 3, bestValidationScore: 0.1,
                           threshold: Threshold(choice: .percentile(99), value: 0.2))
    }

    func testConfigFromDiskMeetsTheOptionRules() throws {
        XCTAssertTrue(config().problems().isEmpty, "\(config().problems())")
        for size in [0, -64, 7, 40, 1 << 40] {
            var c = config()
            c.size = size
            c.training.size = size
            XCTAssertTrue(c.problems().contains { $0.key == "size" }, "size \(size) accepted")
            XCTAssertThrowsError(try c.training.validate())
        }
        var c = config()
        c.size = 32
        XCTAssertEqual(c.problems().first?.key, "size", "size differing from training.size accepted")
        c = config(); c.tapChannels = [1, 2, 3]
        XCTAssertEqual(c.problems().first?.key, "tapChannels")
        c = config(); c.threshold = Threshold(choice: .manual, value: .nan)
        XCTAssertEqual(c.problems().first?.key, "threshold.value")
        c = config(); c.training.learningRate = .infinity
        XCTAssertEqual(c.problems().first?.key, "training.learningRate")
        c = config(); c.bestEpoch = 500
        XCTAssertEqual(c.problems().first?.key, "bestEpoch")
    }

    func testConfigErrorsAreShortAndPlain() throws {
        let key = String(repeating: "k", count: 1_000_000)
        for text in ["{", "{\"backbone\": \"\(key)\"}", "[1, 2]", "{\"\(key)\": 1}"] {
            XCTAssertThrowsError(try ModelConfig.checked(Data(text.utf8), file: "config.json")) { error in
                let message = "\(error)"
                XCTAssertLessThan(message.count, 1000, String(message.prefix(300)))
                XCTAssertFalse(message.contains("DecodingError") || message.contains("Error Domain"), message)
            }
        }
    }

    func testNaNScoresAreFlaggedWhateverTheThreshold() {
        for value: Float in [-1, 0, 0.5, .infinity] {
            XCTAssertTrue(Threshold(choice: .manual, value: value).flags(.nan))
        }
        XCTAssertEqual(ConfusionSummary([LabelledScore(score: .nan, isDefective: false)], threshold: 1).fp, 1)
    }

    func testOutputStemsAreUniqueAsBytes() {
        let paths = ["in/a/b.png", "in/a_b.png", "in/a_b-2.png", "in/caf\u{E9}.png", "in/cafe\u{301}.png", "in/x/a_b.png"]
        let stems = reportFileStems(for: paths)
        XCTAssertEqual(Set(stems.map { Array($0.utf8) }).count, paths.count, "\(stems)")
        XCTAssertEqual(stems[3].utf8.count + 1, stems[4].utf8.count, "NFC and NFD names keep their own bytes: \(stems)")
    }

    func testFoldersListBothNormalisationsInByteOrder() throws {
        let dir = try TemporaryDirectory("stpm-bytes")
        let image = Image8(width: 2, height: 2, channels: 3, pixels: [UInt8](repeating: 9, count: 12))
        for name in ["cafe\u{301}.png", "caf\u{E9}.png", "b.png"] { try PNGFile.write(image, path: dir.file(name)) }
        let found = try scanImageFolder(paths: [dir.path]).map { ($0 as NSString).lastPathComponent }
        XCTAssertEqual(found.map { Array($0.utf8) }, [Array("b.png".utf8), Array("cafe\u{301}.png".utf8), Array("caf\u{E9}.png".utf8)])
    }

    func testMasksAreBinarisedAbove127AndMustMatchTheirImage() throws {
        let dir = try TemporaryDirectory("stpm-masks")
        let noisy = Image8(width: 4, height: 2, channels: 1, pixels: [1, 1, 128, 200, 127, 0, 255, 1])
        try PNGFile.write(noisy, path: dir.file("m.png"))
        let sample = DatasetSample(path: dir.file("x.png"), split: .test, defectType: "cut", maskPath: dir.file("m.png"))
        let truth = try GroundTruth.truth(of: sample, size: 4, imageWidth: 4, imageHeight: 2)
        XCTAssertTrue(truth.nonBinary)
        XCTAssertEqual(truth.mask.map { Array($0.prefix(4)) }, [false, false, true, true])
        XCTAssertThrowsError(try GroundTruth.truth(of: sample, size: 4, imageWidth: 4, imageHeight: 4)) {
            XCTAssertTrue("\($0)".contains("m.png is 4x2 but its image is 4x4"), "\($0)")
        }
        let background = Image8(width: 4, height: 2, channels: 1, pixels: [1, 1, 127, 0, 2, 0, 1, 1])
        try PNGFile.write(background, path: dir.file("m.png"))
        XCTAssertEqual(try GroundTruth.isDefective(sample), false, "a background of 1 is not a defect")
    }

    func testStaleTemporariesOfDeadWritersGo() throws {
        let dir = try TemporaryDirectory("stpm-stale")
        let dead = "99999999"
        let names = [".config.json.\(dead).tmp", ".student.safetensors.\(dead).12345.tmp", ".config.json.\(getpid()).tmp",
                     ".config.json.1.tmp", "keep.tmp", "report.csv"]
        for n in names { FileManager.default.createFile(atPath: dir.file(n), contents: Data()) }
        XCTAssertEqual(StaleTemporaries.remove(in: dir.path), [".config.json.\(dead).tmp", ".student.safetensors.\(dead).12345.tmp"])
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: dir.path)),
                       [".config.json.\(getpid()).tmp", ".config.json.1.tmp", "keep.tmp", "report.csv"])
    }

    func testMemoryBudgetRefusesWhatCannotFitAndNamesTheOption() throws {
        var o = TrainingOptions()
        o.size = 1024
        o.batchSize = 8
        let estimate = MemoryBudget.training(o, images: 12)
        XCTAssertGreaterThan(estimate, 9_000_000_000)
        XCTAssertThrowsError(try MemoryBudget.checkTraining(o, images: 12, available: 8_000_000_000)) {
            XCTAssertTrue("\($0)".contains("use --batch 4"), "\($0)")
        }
        XCTAssertNoThrow(try MemoryBudget.checkTraining(o, images: 12, available: estimate + 1))
        let meminfo = NSTemporaryDirectory() + "meminfo-\(getpid())"
        try "MemTotal: 100 kB\nMemAvailable:    2048 kB\n".write(toFile: meminfo, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: meminfo) }
        XCTAssertEqual(MemoryBudget.available(meminfo: meminfo), 2048 * 1024)
    }
}
