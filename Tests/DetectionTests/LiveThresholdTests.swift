import Foundation
import XCTest
@testable import Detection
@testable import Console
import TestSupport

/// The live view's threshold, end to end on the synthetic model: a threshold key in live mode reaches the
/// real watcher through the update's command and judges the next image; `s` stores it in config.json
/// through the engine.
final class LiveThresholdTests: XCTestCase {
    func testThresholdKeysJudgeTheNextImageAndSaveStoresThemInTheModel() throws {
        let dir = try TemporaryDirectory("stpm-live-threshold")
        let model = try SyntheticSet.modelCopy(in: dir)
        let folder = dir.file("line")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var options = WatchOptions(folders: [folder], log: dir.file("watch.jsonl"))
        options.settle = 0.3
        let events = EventQueue()
        let worker = WatchWorker(modelPath: model, options: options, events: events)

        var state = ConsoleState()
        state.live = LiveWatchStatus(folders: [folder])
        state.modelPath = model
        // What the app does with the update's commands (`ConsoleApp.perform`).
        func run(_ commands: [ConsoleCommand]) {
            for command in commands {
                switch command {
                case .watchThreshold(let value): worker.setThreshold(Float(value))
                case let .saveThreshold(value, rule): run(state.update(.engine(ConsoleApp.saveThreshold(value, rule: rule, modelPath: model))))
                default: break
                }
            }
        }
        func nextWatched() throws -> WatchRecord {
            let start = Date()
            while Date().timeIntervalSince(start) < 120 {
                for event in events.drain() {
                    run(state.update(.engine(event)))
                    if case .watched(let record, _) = event { return record }
                }
                usleep(20_000)
            }
            throw CocoaError(.fileReadUnknown)
        }
        let stored = try XCTUnwrap(ModelStore(path: model).loadConfig().threshold)
        run(state.update(.engine(.modelLoaded(generation: 0, threshold: stored, normalScores: []))))
        worker.start()
        defer { worker.stopAndWait() }

        try FileManager.default.copyItem(atPath: SyntheticSet.data + "/test/good/000.png", toPath: folder + "/a.png")
        let first = try nextWatched()
        XCTAssertEqual(first.threshold, stored.value)

        run(state.update(.key(.char("]"))))
        let raised = state.threshold
        XCTAssertEqual(raised, Double(stored.value) + 0.1, accuracy: 1e-6, "a coarse step over the 0...1 span of one score")
        try FileManager.default.copyItem(atPath: SyntheticSet.data + "/test/scratch/000.png", toPath: folder + "/b.png")
        let second = try nextWatched()
        XCTAssertEqual(second.threshold, Float(raised), "the next image is judged by the threshold the key set")
        XCTAssertEqual(second.verdict, Float(raised) <= second.score! ? .flagged : .ok)

        run(state.update(.key(.char("s"))))
        let saved = try XCTUnwrap(ModelStore(path: model).loadConfig().threshold)
        XCTAssertEqual(saved, Threshold(choice: .manual, value: Float(raised)))
        XCTAssertEqual(state.savedThreshold, saved)
        XCTAssertEqual(state.status, "threshold \(NumberFormat.short(raised)) saved to \(model)/config.json")
    }
}
