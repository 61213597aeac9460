import Foundation
import XCTest
import Backbones
import Numerics
@testable import Detection

final class ResumeTests: XCTestCase {
    var root: String!

    override func setUpWithError() throws {
        root = SyntheticSet.root + "/resume-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: root)
    }

    func tensors(_ path: String, prefix: String = "") throws -> [String: [UInt32]] {
        let file = try SafetensorsFile(path: path)
        var result: [String: [UInt32]] = [:]
        for name in file.names where name.hasPrefix(prefix) { result[name] = try file.floats(name).map(\.bitPattern) }
        return result
    }

    /// The interrupted-and-resumed run ended exactly as the uninterrupted one: the same best student, the same
    /// checkpoint (student, momentum, best student, epoch, random state, order, best epoch and score) bit for bit.
    func assertSameRun(_ straight: ModelStore, _ resumed: ModelStore, file: StaticString = #filePath, line: UInt = #line) throws {
        // Names of the tensors that differ, not the tensors: a failure then reads as which state diverged.
        func differing(_ a: [String: [UInt32]], _ b: [String: [UInt32]]) -> [String] {
            Set(a.keys).union(b.keys).filter { a[$0] != b[$0] }.sorted()
        }
        XCTAssertEqual(differing(try tensors(straight.studentFile), try tensors(resumed.studentFile)), [],
                       "student.safetensors", file: file, line: line)
        let checkpoint = try tensors(straight.checkpointFile)
        for prefix in ["student.", "momentum.", "best."] {
            XCTAssertTrue(checkpoint.keys.contains { $0.hasPrefix(prefix) }, "no \(prefix) tensors", file: file, line: line)
        }
        XCTAssertEqual(differing(checkpoint, try tensors(resumed.checkpointFile)), [], "checkpoint tensors", file: file, line: line)
        XCTAssertEqual(try SafetensorsFile(path: straight.checkpointFile).metadata,
                       try SafetensorsFile(path: resumed.checkpointFile).metadata, "checkpoint metadata", file: file, line: line)
        // The logs were cut back to the checkpoint and continued: the same lines, but the timings.
        XCTAssertEqual(try String(contentsOfFile: straight.trainLogFile, encoding: .utf8),
                       try String(contentsOfFile: resumed.trainLogFile, encoding: .utf8), "train_log.jsonl", file: file, line: line)
        func untimed(_ store: ModelStore) throws -> String {
            try String(contentsOfFile: store.validationFile, encoding: .utf8).replacingOccurrences(of: #""seconds":[0-9.]+"#, with: "", options: .regularExpression)
        }
        XCTAssertEqual(try untimed(straight), try untimed(resumed), "validation.jsonl", file: file, line: line)
    }

    /// Stopping in the middle of epoch 2 and resuming reaches the very weights of the uninterrupted
    /// run (the shared synthetic model, trained the same 3 epochs from the same seed).
    func testStopMidEpochThenResumeGivesBitIdenticalWeights() throws {
        let straight = ModelStore(path: try SyntheticSet.trainedModel())
        let resumed = ModelStore(path: root + "/resumed")
        let control = TrainingControl()
        let stopped = try SyntheticSet.train(epochs: SyntheticSet.epochs, out: resumed.path, control: control) { event in
            if case .step(let p) = event, p.epoch == 1, p.step == 1 { control.requestStop() }
        }
        XCTAssertEqual(stopped, .interrupted(epoch: 1, step: 1))
        XCTAssertEqual(TrainingSession.folderState(resumed), .stopped)
        XCTAssertEqual(TrainingSession.replay(resumed).steps.map(\.stepsDone), [1, 2, 3], "2 steps an epoch, then 1")
        // Logs ahead of their checkpoint, as a crash between a flush and the next checkpoint leaves
        // them: the resumed run cuts them back to the checkpoint before it continues.
        for file in [\ModelStore.trainLogFile, \ModelStore.validationFile] {
            try FileManager.default.removeItem(atPath: resumed[keyPath: file])
            try FileManager.default.copyItem(atPath: straight[keyPath: file], toPath: resumed[keyPath: file])
        }
        XCTAssertEqual(try SyntheticSet.train(epochs: SyntheticSet.epochs, out: resumed.path, resume: true),
                       .finished(bestEpoch: try straight.loadConfig().bestEpoch))
        try assertSameRun(straight, resumed)
    }

    /// A stop raised on the event of epoch 1's last step is pending through the held-out validation pass
    /// (Ctrl-C there), so it is seen at step 0 of epoch 2; one raised on epoch 2's end-of-epoch event, after
    /// its checkpoint, likewise. Either must save the epoch boundary's random state, not the one already
    /// advanced by the next epoch's shuffle, or --resume trains on another order.
    func testStopAtEpochBoundaryThenResumeGivesBitIdenticalRun() throws {
        let straight = ModelStore(path: try SyntheticSet.trainedModel())
        let resumed = ModelStore(path: root + "/resumed")
        let duringValidation = TrainingControl()
        let first = try SyntheticSet.train(epochs: SyntheticSet.epochs, out: resumed.path, control: duringValidation) { event in
            if case .step(let p) = event, p.epoch == 0, p.step == p.stepsPerEpoch { duringValidation.requestStop() }
        }
        XCTAssertEqual(first, .interrupted(epoch: 1, step: 0))
        let afterEpoch = TrainingControl()
        let second = try SyntheticSet.train(epochs: SyntheticSet.epochs, out: resumed.path, resume: true, control: afterEpoch) { event in
            if case .epoch(let summary) = event, summary.epoch == 2 { afterEpoch.requestStop() }
        }
        XCTAssertEqual(second, .interrupted(epoch: 2, step: 0))
        XCTAssertEqual(try SyntheticSet.train(epochs: SyntheticSet.epochs, out: resumed.path, resume: true),
                       .finished(bestEpoch: try straight.loadConfig().bestEpoch))
        try assertSameRun(straight, resumed)
    }

    /// A copy of the shared model, to damage.
    func copyOfModel() throws -> ModelStore {
        let copy = root + "/model"
        try FileManager.default.copyItem(atPath: SyntheticSet.trainedModel(), toPath: copy)
        return ModelStore(path: copy)
    }

    func loadCheckpoint(_ store: ModelStore) throws {
        _ = try Checkpoint.load(from: store.checkpointFile, into: BackboneKind.efficientnetLite0.make(role: .student))
    }

    /// Loading a checkpoint restores exactly what it holds: every student tensor, every momentum buffer (and
    /// marks it started), the best student, and the position, random state and selection of the run.
    func testCheckpointLoadRestoresWhatWasSaved() throws {
        let path = try SyntheticSet.trainedModel() + "/checkpoint.safetensors"
        let saved = try tensors(path)
        let metadata = try SafetensorsFile(path: path).metadata
        let student = BackboneKind.efficientnetLite0.make(role: .student)
        let (checkpoint, best) = try Checkpoint.load(from: path, into: student)

        XCTAssertEqual(Dictionary(uniqueKeysWithValues: student.state.map { ("student." + $0.name, $0.values.map(\.bitPattern)) }),
                       saved.filter { $0.key.hasPrefix("student.") })
        var momentum: [String: [UInt32]] = [:]
        for p in student.parameters {
            guard let m = p.momentum else { continue }
            XCTAssertTrue(p.momentumStarted, p.name)
            momentum["momentum." + p.name] = UnsafeBufferPointer(start: m, count: p.count).map(\.bitPattern)
        }
        XCTAssertEqual(momentum.count, student.parameters.count)
        XCTAssertEqual(momentum, saved.filter { $0.key.hasPrefix("momentum.") })
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: best.map { ("best." + $0.name, $0.values.map(\.bitPattern)) }),
                       saved.filter { $0.key.hasPrefix("best.") })
        XCTAssertEqual(best.map(\.name), student.state.map(\.name))

        XCTAssertEqual(checkpoint.epoch, SyntheticSet.epochs)
        XCTAssertEqual(checkpoint.step, 0)
        XCTAssertEqual(String(checkpoint.rng.state), metadata["rng"])
        XCTAssertEqual(checkpoint.order.map(String.init).joined(separator: ","), metadata["order"])
        XCTAssertEqual(checkpoint.order.sorted(), Array(0..<5))
        XCTAssertEqual(checkpoint.bestEpoch, try ModelStore(path: SyntheticSet.trainedModel()).loadConfig().bestEpoch)
        XCTAssertEqual(checkpoint.bestScore.map { String($0) }, metadata["best_score"])
    }

    /// The checksum is the sha256 of each tensor's name then its little-endian floats, as every checkpoint
    /// written so far records it (the value is Python's hashlib over the same bytes).
    func testCheckpointChecksumIsSha256OfNamesAndValues() {
        let tensors = [NamedTensor(name: "student.w", shape: [3], values: [1, -2.5, 0.125]),
                       NamedTensor(name: "best.b", shape: [1], values: [3])]
        XCTAssertEqual(Checkpoint.digest(tensors), "6be85e4de9aaf207c04cc6517628e3033f36d81a37d6ec756f993a75d94c357b")
    }

    func testDamagedCheckpointFailsWithChecksumError() throws {
        let store = try copyOfModel()
        var bytes = try Data(contentsOf: URL(fileURLWithPath: store.checkpointFile))
        bytes[bytes.count - 5] ^= 0x40
        try bytes.write(to: URL(fileURLWithPath: store.checkpointFile))
        XCTAssertThrowsError(try loadCheckpoint(store)) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("checksum mismatch") && message.contains(store.checkpointFile), message)
        }
    }

    func testTruncatedCheckpointFailsNamingTheFile() throws {
        let store = try copyOfModel()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: store.checkpointFile))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: store.checkpointFile))
        XCTAssertThrowsError(try loadCheckpoint(store)) { error in
            XCTAssertTrue("\(error)".contains(store.checkpointFile), "\(error)")
        }
    }

    /// What an interrupted atomic write leaves behind (a temporary beside config.json or the student) is
    /// ignored when loading. (The store is read directly: AnomalyModel would also hash the teacher weights,
    /// which adds seconds in debug builds and tests nothing here.)
    func testStaleTemporaryFilesDoNotBreakLoading() throws {
        let store = try copyOfModel()
        let config = try Data(contentsOf: URL(fileURLWithPath: store.configFile))
        for stale in [".config.json.4242.tmp", ".student.safetensors.4242.tmp"] {
            try Data("{\"half\": ".utf8).write(to: URL(fileURLWithPath: store.path + "/" + stale))
        }
        let loaded = try store.loadConfig()
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        XCTAssertEqual(try encoder.encode(loaded), try encoder.encode(JSONDecoder().decode(ModelConfig.self, from: config)))
        XCTAssertNotNil(loaded.threshold)
        XCTAssertNoThrow(try store.frozenStudent(from: store.mappedStudent(), loaded))
        // The next atomic write replaces config.json and leaves the stale temporary harmless.
        try store.save(loaded)
        XCTAssertEqual(try encoder.encode(store.loadConfig()), try encoder.encode(loaded))
    }
}
