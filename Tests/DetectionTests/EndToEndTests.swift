import Foundation
import XCTest
import Backbones
import Numerics
import ImageIO
@testable import Detection
import TestSupport

/// A tiny MVTec-layout dataset drawn in the test (smooth texture; "scratch" defects are bright lines)
/// and a model trained on it once per test process (3 epochs, uninterrupted), shared by the end-to-end,
/// evaluation and export tests and the reference of the resume test. One shared model keeps the suite
/// fast in debug builds, where training and hashing the teacher weights dominate.
enum SyntheticSet {
    static let size = 64
    static let root = NSTemporaryDirectory() + "stpm-synthetic-\(UUID().uuidString)"
    static var data: String { root + "/data" }

    /// CI fetches the teacher before the tests; a missing file is a failure, never a skip.
    static func requireTeacherWeights() throws {
        do { _ = try TeacherWeights.locate(.efficientnetLite0) } catch {
            XCTFail("\(error). The end-to-end tests need the EfficientNet-Lite0 teacher: run scripts/fetch-weights first.")
            throw error
        }
    }

    static func options(epochs: Int) -> TrainingOptions {
        var options = TrainingOptions()
        options.size = size
        options.epochs = epochs
        options.batchSize = 4
        return options
    }

    /// Trains on the synthetic train/good into `out`; `events` may stop the run through `control`.
    @discardableResult
    static func train(epochs: Int, out: String, resume: Bool = false, control: TrainingControl = TrainingControl(),
                      events: @escaping (TrainingEvent) -> Void = { _ in }) throws -> TrainingOutcome {
        let dataset = try MVTecDataset(root: data)
        return try TrainingSession(store: ModelStore(path: out), imagePaths: dataset.train.map(\.path), options: options(epochs: epochs),
                                   resume: resume, control: control, events: events).run()
    }

    static let epochs = 3

    /// The dataset and the model directory, made on first use, with the events its training published.
    static let training: Result<(path: String, events: [TrainingEvent]), Error> = Result {
        try requireTeacherWeights()
        try write()
        atexit { try? FileManager.default.removeItem(atPath: SyntheticSet.root) }
        let out = root + "/model"
        let recorder = EventRecorder()
        guard case .finished = try train(epochs: epochs, out: out, events: recorder.record) else { throw CocoaError(.userCancelled) }
        return (out, recorder.events)
    }

    static var modelPath: Result<String, Error> { training.map(\.path) }

    static let loadedModel: Result<AnomalyModel, Error> = Result { try AnomalyModel(path: modelPath.get()) }

    static func trainedModel() throws -> String {
        try requireTeacherWeights()
        return try modelPath.get()
    }

    static func trainingEvents() throws -> [TrainingEvent] {
        try requireTeacherWeights()
        return try training.get().events
    }

    /// The built `stpm` executable (skips when there is none).
    static func binary() throws -> String {
        let here = Bundle(for: EndToEndTests.self).bundleURL
        // Linux runs the tests from the build folder itself; macOS from an .xctest bundle inside it.
        guard let binary = [here, here.deletingLastPathComponent()].map({ $0.appendingPathComponent("stpm").path })
            .first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw XCTSkip("no stpm binary next to \(here.path) (swift build --product stpm)")
        }
        return binary
    }

    /// Runs the built `stpm` binary and returns its status and its stdout and stderr.
    static func stpm(_ args: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try binary())
        process.arguments = args
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }

    /// A copy of the shared model (for tests that write into it) in a folder removed with `owner`.
    static func modelCopy(in owner: TemporaryDirectory) throws -> String {
        let copy = owner.file("model")
        try FileManager.default.copyItem(atPath: try trainedModel(), toPath: copy)
        return copy
    }

    static func model() throws -> AnomalyModel {
        try requireTeacherWeights()
        return try loadedModel.get()
    }

    /// 6 train/good, 2 test/good, 2 test/scratch with masks.
    static func write() throws {
        for (folder, count) in [("train/good", 6), ("test/good", 2), ("test/scratch", 2), ("ground_truth/scratch", 2)] {
            try FileManager.default.createDirectory(atPath: data + "/" + folder, withIntermediateDirectories: true)
            for i in 0..<count {
                let name = String(format: "%03d", i)
                switch folder {
                case "ground_truth/scratch":
                    try PNGFile.write(Image8(width: size, height: size, channels: 1, pixels: scratch(i).map { $0 ? 255 : 0 }),
                                      path: "\(data)/\(folder)/\(name)_mask.png")
                case "test/scratch":
                    try PNGFile.write(texture(phase: Float(i) + 7, scratch: scratch(i)), path: "\(data)/\(folder)/\(name).png")
                default:
                    try PNGFile.write(texture(phase: Float(i) + (folder == "test/good" ? 3.5 : 0)), path: "\(data)/\(folder)/\(name).png")
                }
            }
        }
    }

    /// A two-pixel bright line, at a different height per image.
    static func scratch(_ i: Int) -> [Bool] {
        (0..<size * size).map { p in
            let x = p % size, y = p / size
            return (20 + 14 * i...21 + 14 * i).contains(y) && (12..<52).contains(x)
        }
    }

    static func texture(phase: Float, scratch: [Bool]? = nil) -> Image8 {
        var pixels = [UInt8](repeating: 0, count: size * size * 3)
        for y in 0..<size {
            for x in 0..<size {
                let v = 110 + 45 * sin(0.35 * Float(x) + 0.4 * phase) * cos(0.3 * Float(y) + 0.2 * phase)
                let bright = scratch?[y * size + x] == true
                for c in 0..<3 {
                    pixels[(y * size + x) * 3 + c] = bright ? 250 : UInt8(max(0, min(255, v + Float(c) * 12)))
                }
            }
        }
        return Image8(width: size, height: size, channels: 3, pixels: pixels)
    }
}

/// Collects what a session publishes.
final class EventRecorder: @unchecked Sendable {
    private(set) var events: [TrainingEvent] = []
    func record(_ event: TrainingEvent) { events.append(event) }
}

final class EndToEndTests: XCTestCase {
    /// The held-out selection and the stored threshold, recomputed from the files the run wrote: the best
    /// epoch is the argmin of validation.jsonl (and the student is that epoch's), the threshold numpy's
    /// p99 (linear) of normal_scores.json.
    func testBestEpochAndThresholdFollowTheHeldOutFiles() throws {
        let store = ModelStore(path: try SyntheticSet.trainedModel())
        let config = try store.loadConfig()
        let lines = try String(contentsOfFile: store.validationFile, encoding: .utf8).split(separator: "\n")
        let validation = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        XCTAssertEqual(validation.map { $0["epoch"] as? Int }, (1...SyntheticSet.epochs).map { $0 })
        let means = validation.map { $0["validation_mean_score"] as! Double }
        let argmin = means.indices.min { means[$0] < means[$1] }! + 1
        XCTAssertEqual(config.bestEpoch, argmin, "validation means \(means)")
        XCTAssertEqual(validation.map { $0["best"] as? Bool }, means.indices.map { i in means[i] < means[..<i].min() ?? .infinity })
        XCTAssertEqual(try SafetensorsFile(path: store.studentFile).metadata["epoch"], String(argmin))

        let normal = store.loadNormalScores().map(Double.init).sorted()
        XCTAssertEqual(normal.count, config.validationImages)
        let rank = 0.99 * Double(normal.count - 1), below = Int(rank)
        let p99 = normal[below] + (normal[min(below + 1, normal.count - 1)] - normal[below]) * (rank - Double(below))
        XCTAssertEqual(config.threshold?.choice, .percentile(99))
        XCTAssertEqual(Double(try XCTUnwrap(config.threshold?.value)), p99, accuracy: p99 * 1e-6)
    }

    func testTrainedModelScoresEveryImageWithFiniteMaps() throws {
        let model = try SyntheticSet.model()
        let files = try scanImageFolder(paths: [SyntheticSet.data + "/test"])
        XCTAssertEqual(files.map { URL(fileURLWithPath: $0).pathComponents.suffix(2).joined(separator: "/") },
                       ["good/000.png", "good/001.png", "scratch/000.png", "scratch/001.png"])
        var scores: [Float] = []
        try model.scoreFiles(files) { index, result in
            let scored = try result.get()
            XCTAssertEqual(index, scores.count)
            XCTAssertEqual(scored.map.count, 64 * 64)
            XCTAssertTrue(scored.map.allSatisfy(\.isFinite))
            XCTAssertEqual(scored.score, scored.map.max())
            scores.append(scored.score)
        }
        XCTAssertEqual(scores.count, 4)
        // Each result belongs to its own file: the same as scoring that file alone.
        for (file, score) in zip(files, scores) {
            XCTAssertEqual(try model.score(file), score, accuracy: score * 1e-5, file)
        }
        XCTAssertGreaterThan(scores[2...].min()!, scores[..<2].max()!, "every scratch above every good image: \(scores)")
    }

    func testUnreadableImageIsReportedByNameAndTheOthersAreScored() throws {
        let model = try SyntheticSet.model()
        let bad = SyntheticSet.root + "/broken.png"
        try Data("not a png".utf8).write(to: URL(fileURLWithPath: bad))
        let good = SyntheticSet.data + "/test/good/000.png", scratch = SyntheticSet.data + "/test/scratch/001.png"
        var outcomes: [Int: Result<ImageScore, Error>] = [:]
        try model.scoreFiles([good, bad, scratch]) { outcomes[$0] = $1 }
        // The readable ones get their own results: the same as scoring each file alone.
        let alone = try [good, scratch].map(model.score)
        XCTAssertEqual(try XCTUnwrap(try outcomes[0]?.get().score), alone[0], accuracy: alone[0] * 1e-5)
        XCTAssertEqual(try XCTUnwrap(try outcomes[2]?.get().score), alone[1], accuracy: alone[1] * 1e-5)
        XCTAssertGreaterThan(alone[1], alone[0] * 1.5)
        XCTAssertThrowsError(try outcomes[1]!.get()) { XCTAssertTrue("\($0)".contains(bad), "\($0)") }
        // Unreadable files first, one for each lane: a lane that finds one goes on to the next file.
        outcomes = [:]
        try model.scoreFiles([bad, bad, good, scratch]) { outcomes[$0] = $1 }
        XCTAssertEqual(try XCTUnwrap(try outcomes[2]?.get().score), alone[0], accuracy: alone[0] * 1e-5)
        XCTAssertEqual(try XCTUnwrap(try outcomes[3]?.get().score), alone[1], accuracy: alone[1] * 1e-5)
        // Labelled scoring needs every image, so it stops, naming the file.
        let sample = DatasetSample(path: bad, split: .test, defectType: "good", maskPath: nil)
        XCTAssertThrowsError(try LabelledScoring.score(model: model, samples: [sample])) { XCTAssertTrue("\($0)".contains(bad)) }
    }

    /// Files read a batch ahead of the one being scored still reach `each` in order, each with its own result.
    func testPrefetchedBatchesKeepEveryResultWithItsFile() throws {
        let alone = try SyntheticSet.model()
        let model = try AnomalyModel(path: SyntheticSet.trainedModel(), batchSize: 2)
        let bad = SyntheticSet.root + "/broken-batch.png"
        try Data("not a png".utf8).write(to: URL(fileURLWithPath: bad))
        let test = SyntheticSet.data + "/test/"
        let files = [test + "good/000.png", test + "scratch/001.png", bad, test + "good/001.png", test + "scratch/000.png"]
        var order: [Int] = []
        try model.scoreFiles(files) { index, result in
            order.append(index)
            if index == 2 { XCTAssertThrowsError(try result.get()) { XCTAssertTrue("\($0)".contains(bad)) }; return }
            let expected = try alone.score(files[index])
            XCTAssertEqual(try result.get().score, expected, accuracy: expected * 1e-5, files[index])
        }
        XCTAssertEqual(order, Array(files.indices))
    }

    func testThresholdRulesResolve() throws {
        let model = try SyntheticSet.model()
        let inspection = Inspection(model: model)
        let scored = try inspection.score(MVTecDataset(root: SyntheticSet.data).test)
        XCTAssertEqual(scored.map(\.isDefective), [false, false, true, true])
        XCTAssertEqual(try inspection.threshold(.stored), model.config.threshold)
        XCTAssertEqual(try inspection.threshold(.value(0.25)), manualThreshold(0.25))
        XCTAssertEqual(try inspection.threshold(.percentile(50)).choice, .percentile(50))
        let f1 = try inspection.threshold(.f1, labelled: scored)
        XCTAssertEqual(f1.choice, .f1)
        XCTAssertTrue(scored.map(\.score).contains(f1.value))
    }

    /// The command line through the built binary (each run hashes the teacher weights, slow in debug builds,
    /// so one real run: score with --csv and --maps, which only the command implements).
    func testCommandLine() throws {
        let model = try SyntheticSet.trainedModel()
        func stpm(_ args: String...) throws -> (status: Int32, output: String) { try SyntheticSet.stpm(args) }
        let maps = SyntheticSet.root + "/cli-maps", csv = SyntheticSet.root + "/cli-score.csv"
        let score = try stpm("score", model, SyntheticSet.data + "/test", "--csv", csv, "--maps", maps)
        XCTAssertEqual(score.status, 0, score.output)
        XCTAssertTrue(score.output.contains("scratch/001.png"), score.output)
        let lines = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.first, "path,score,flagged,threshold,map_scale,overlay,map16,error")
        XCTAssertEqual(lines.count, 5)
        let row = lines[3].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(row[5...6], ["scratch_000_overlay.png", "scratch_000_map16.png"])
        // The 16-bit map holds map / scale * 65535, so its brightest pixel gives back the score.
        let raw = try PNGFile.readGray16(path: maps + "/scratch_000_map16.png")
        XCTAssertEqual(raw.width, 64)
        let decoded = Float(raw.values.max()!) / 65535 * Float(row[4])!
        XCTAssertEqual(decoded, Float(row[1])!, accuracy: Float(row[4])! / 30000)
        XCTAssertEqual(try ImageReader.read(path: maps + "/good_001_overlay.png").width, 64)

        let missing = try stpm("eval", SyntheticSet.root + "/no-model", SyntheticSet.data)
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.output.contains("not an stpm model directory"), missing.output)
    }
}

extension AnomalyModel {
    /// One file scored on its own, the reference for results of a batch.
    func score(_ path: String) throws -> Float {
        var score: Float?
        try scoreFiles([path]) { score = try $1.get().score }
        return try XCTUnwrap(score)
    }
}
