import Foundation
import XCTest
import Backbones
@testable import Detection

/// The session's decisions on a model folder, and its logs read back after a real run.
final class TrainingSessionTests: XCTestCase {
    private func emptyFolder() throws -> ModelStore {
        let path = SyntheticSet.root + "/session-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return ModelStore(path: path)
    }

    private func open(_ store: ModelStore, _ options: TrainingOptions = SyntheticSet.options(epochs: SyntheticSet.epochs),
                      resume: Bool) throws -> TrainingSession {
        let images = try MVTecDataset(root: SyntheticSet.data).train.map(\.path)
        return try TrainingSession(store: store, imagePaths: images, options: options, resume: resume)
    }

    private func assertRefused(_ open: @autoclosure () throws -> TrainingSession, saying expected: String,
                               file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try open(), file: file, line: line) { error in
            XCTAssertTrue("\(error)".contains(expected), "\(error)", file: file, line: line)
        }
    }

    /// The logs the shared model's training wrote read back as the steps and epochs it published:
    /// same positions and curve x, losses to the 7 digits the log keeps.
    func testLogsReplayWhatTheRunPublished() throws {
        let published = try SyntheticSet.trainingEvents()
        let replay = TrainingSession.replay(ModelStore(path: try SyntheticSet.trainedModel()))
        let steps = published.compactMap { e -> TrainingProgress? in if case .step(let p) = e { return p }; return nil }
        let epochs = published.compactMap { e -> EpochSummary? in if case .epoch(let s) = e { return s }; return nil }
        XCTAssertEqual(steps.count, SyntheticSet.epochs * 2, "5 of 6 images in batches of 4: 2 steps an epoch")
        XCTAssertEqual(replay.steps.map { [$0.epoch, $0.step, $0.stepsDone] }, steps.map { [$0.epoch, $0.step, $0.stepsDone] })
        XCTAssertEqual(replay.steps.map(\.stepsDone), Array(1...steps.count))
        for (read, live) in zip(replay.steps, steps) {
            XCTAssertEqual(read.levelLosses.count, 3)
            for (r, l) in zip(read.levelLosses, live.levelLosses) { XCTAssertEqual(r, l, accuracy: abs(l) * 1e-6) }
        }
        XCTAssertEqual(replay.epochs.map(\.epoch), epochs.map(\.epoch))
        XCTAssertEqual(replay.epochs.map(\.isBest), epochs.map(\.isBest))
        for (read, live) in zip(replay.epochs, epochs) {
            let score = try XCTUnwrap(live.validationScore)
            XCTAssertEqual(try XCTUnwrap(read.validationScore), score, accuracy: score * 1e-8)
            XCTAssertEqual(read.seconds, live.seconds, accuracy: 0.006)
        }
        XCTAssertEqual(replay.plannedEpochs, SyntheticSet.epochs)
        XCTAssertEqual(replay.stepsPerEpoch, steps.last?.stepsPerEpoch)
        XCTAssertTrue(replay.finished)
    }

    /// The ETA the console and the CLI show is the images still to train at the run's measured rate,
    /// counted exactly, also after an epoch's short last batch (5 images in batches of 4).
    func testTimeRemainingIsTheImagesLeftAtTheMeasuredRate() throws {
        let steps = try SyntheticSet.trainingEvents().compactMap { e -> TrainingProgress? in if case .step(let p) = e { return p }; return nil }
        XCTAssertFalse(steps.isEmpty)
        for p in steps {
            let left = (SyntheticSet.epochs - p.epoch - 1) * 5 + (5 - min(p.step * 4, 5))
            XCTAssertGreaterThan(p.imagesPerSecond, 0)
            XCTAssertEqual(p.secondsRemaining * p.imagesPerSecond, Double(left), accuracy: 1e-9 * Double(max(left, 1)),
                           "epoch \(p.epoch + 1) step \(p.step)")
        }
    }

    func testAFolderWithoutLogsReplaysNothing() throws {
        XCTAssertEqual(TrainingSession.replay(try emptyFolder()), TrainingReplay())
    }

    func testFolderStates() throws {
        XCTAssertEqual(TrainingSession.folderState(ModelStore(path: try SyntheticSet.trainedModel())), .finished)
        let store = try emptyFolder()
        XCTAssertEqual(TrainingSession.folderState(store), .empty)
        try FileManager.default.copyItem(atPath: try SyntheticSet.trainedModel() + "/config.json", toPath: store.configFile)
        XCTAssertEqual(TrainingSession.folderState(store), .empty, "a config without a checkpoint never finished an epoch")
        XCTAssertNoThrow(try TrainingSession.check(store: store, imageCount: 6, options: SyntheticSet.options(epochs: 3), resume: false))
        var longer = try store.loadConfig()
        longer.training.epochs = SyntheticSet.epochs + 1
        try store.save(longer)
        try FileManager.default.copyItem(atPath: try SyntheticSet.trainedModel() + "/checkpoint.safetensors", toPath: store.checkpointFile)
        XCTAssertEqual(TrainingSession.folderState(store), .stopped, "3 of 4 epochs done")
    }

    func testATrainedModelIsNotOverwrittenWithoutResume() throws {
        let model = ModelStore(path: try SyntheticSet.trainedModel())
        let config = try Data(contentsOf: URL(fileURLWithPath: model.configFile))
        assertRefused(try open(model, resume: false), saying: "already holds a trained model: pass --resume")
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: model.configFile)), config)
    }

    /// A run refused after the folder was made (here: an unreadable image) takes back the folder it made,
    /// and leaves a folder the user made, and its files, as they were.
    func testARefusedRunLeavesNoFolderItMade() throws {
        _ = try SyntheticSet.trainedModel()
        let images = try MVTecDataset(root: SyntheticSet.data).train.map(\.path)
        let junk = SyntheticSet.root + "/junk-\(UUID().uuidString).png"
        try Data("junk".utf8).write(to: URL(fileURLWithPath: junk))
        addTeardownBlock { try? FileManager.default.removeItem(atPath: junk) }
        let fresh = ModelStore(path: SyntheticSet.root + "/refused-\(UUID().uuidString)/model")
        addTeardownBlock { try? FileManager.default.removeItem(atPath: fresh.path) }
        func refused(_ store: ModelStore) {
            assertRefused(try TrainingSession(store: store, imagePaths: images + [junk],
                                              options: SyntheticSet.options(epochs: 1), resume: false), saying: junk)
        }
        refused(fresh)
        XCTAssertFalse(FileManager.default.fileExists(atPath: fresh.path))
        let own = try emptyFolder()
        refused(own)
        XCTAssertTrue(FileManager.default.fileExists(atPath: own.path), "a folder the user made stays")
    }

    func testResumeNeedsACheckpoint() throws {
        assertRefused(try open(try emptyFolder(), resume: true), saying: "has no checkpoint to resume from")
    }

    func testResumeRefusesAnotherBackboneSizeOrTeacher() throws {
        let model = ModelStore(path: try SyntheticSet.trainedModel())
        var bigger = SyntheticSet.options(epochs: SyntheticSet.epochs)
        bigger.size += 16
        assertRefused(try open(model, bigger, resume: true), saying: "was trained with efficientnet-lite0 at 64px")
        var other = SyntheticSet.options(epochs: SyntheticSet.epochs)
        other.backbone = .resnet18
        assertRefused(try open(model, other, resume: true), saying: "resume with the same options")
        // Other weights are refused by their hash, before they are read as weights.
        let weights = try emptyFolder().path + "/other-teacher.safetensors"
        try Data("other bytes".utf8).write(to: URL(fileURLWithPath: weights))
        var otherTeacher = SyntheticSet.options(epochs: SyntheticSet.epochs)
        otherTeacher.teacherWeights = weights
        assertRefused(try open(model, otherTeacher, resume: true), saying: "other teacher weights; resume with the same options")
    }

    /// p99 of the normal scores, as the stored threshold's rule; a threshold chosen by hand stays.
    func testTrainedThresholdKeepsAManualOne() throws {
        let scores = (1...200).map { Float($0) / 200 }
        let p99 = try percentileThreshold(normalScores: scores, percentile: 99).value
        XCTAssertEqual(TrainingSession.trainedThreshold(normalScores: scores, stored: nil), p99)
        XCTAssertEqual(TrainingSession.trainedThreshold(normalScores: scores, stored: Threshold(choice: .f1, value: 0.1)), p99)
        XCTAssertNil(TrainingSession.trainedThreshold(normalScores: scores, stored: Threshold(choice: .manual, value: 0.1)))
        XCTAssertNil(TrainingSession.trainedThreshold(normalScores: [], stored: nil), "no scores, no percentile")
        // The shared model's stored threshold is that rule applied to its normal scores.
        let model = ModelStore(path: try SyntheticSet.trainedModel())
        XCTAssertEqual(try model.loadConfig().threshold,
                       Threshold(choice: .percentile(99), value: try percentileThreshold(normalScores: model.loadNormalScores(), percentile: 99).value))
    }

    func testBadOptionsAndTooFewImagesAreRefusedFirst() throws {
        var bad = SyntheticSet.options(epochs: 1)
        bad.size = 40
        XCTAssertThrowsError(try TrainingSession.check(store: try emptyFolder(), imageCount: 6, options: bad, resume: false)) {
            XCTAssertTrue("\($0)".contains("--size must be a multiple of 16"), "\($0)")
        }
        XCTAssertThrowsError(try TrainingSession.check(store: try emptyFolder(), imageCount: 1, options: SyntheticSet.options(epochs: 1), resume: false)) {
            XCTAssertTrue("\($0)".contains("at least 2 normal images"), "\($0)")
        }
    }
}
