import XCTest
@testable import Console
import Detection

/// Engine events go through the same update as keys: training, scoring and export results
/// change the state and ask for work, all without a terminal.
final class ConsoleUpdateTests: XCTestCase {
    /// Rows whose ids are their indices, as the app's dataset index makes them: one train image,
    /// a good and a defective test image.
    static func opened() -> ConsoleState {
        var s = ConsoleState()
        s.rows = [ImageRow(id: 0, name: "train/good/000.png"),
                  ImageRow(id: 1, name: "test/good/000.png", label: .normal),
                  ImageRow(id: 2, name: "test/crack/000.png", label: .defective)]
        XCTAssertEqual(s.openModel("m"), .score(modelPath: "m", generation: 1))
        return s
    }

    static func map(_ values: [Float]) -> ScalarMap { ScalarMap(width: values.count, height: 1, values: values) }

    static func step(epoch: Int, step: Int, _ losses: [Double] = [0.5, 0.25, 0.125]) -> EngineEvent {
        .training(.step(TrainingProgress(epoch: epoch, epochs: 3, step: step, stepsPerEpoch: 2, levelLosses: losses,
                                         imagesPerSecond: 10, secondsRemaining: 5)))
    }

    func testATrainingRunFromStartToFinishedScoresWithItsStudent() {
        var s = Self.opened()
        XCTAssertEqual(s.update(.engine(.trainingStarted(modelPath: "new", epochs: 3, replay: nil))), [])
        XCTAssertEqual(s.training.phase, .running)
        XCTAssertEqual(s.focus, .training)
        XCTAssertEqual(s.training.totalEpochs, 3)
        XCTAssertEqual(s.status, "training into new")
        XCTAssertEqual(s.update(.engine(.training(.message("loading 6 normal images")))), [])
        XCTAssertEqual(s.status, "loading 6 normal images")
        for e in [Self.step(epoch: 0, step: 1), Self.step(epoch: 0, step: 2),
                  .training(.epoch(EpochSummary(epoch: 1, validationScore: 0.3, isBest: true, seconds: 1))),
                  Self.step(epoch: 1, step: 1, [1, 1, 1])] {
            XCTAssertEqual(s.update(.engine(e)), [])
        }
        XCTAssertEqual(s.training.totalLoss.map(\.x), [1, 2, 3])
        XCTAssertEqual(s.training.totalLoss.last?.y, 3)
        XCTAssertEqual(s.training.heldOutScores, [ChartPoint(x: 1, y: 0.3)])
        XCTAssertEqual([s.training.epoch, s.training.step, s.training.totalSteps], [2, 1, 2])
        s.rows[1].score = 0.5
        s.anomalyMaps[1] = Self.map([0.5])
        let ended = s.update(.engine(.trainingEnded(modelPath: "new", outcome: .finished(bestEpoch: 3), error: nil, studentSaved: true)))
        XCTAssertEqual(ended, [.score(modelPath: "new", generation: 2)], "the new student scores the list")
        XCTAssertEqual(s.training.phase, .finished)
        XCTAssertEqual(s.status, "training finished (best epoch 3); scoring with the new model")
        XCTAssertEqual(s.modelPath, "new")
        XCTAssertNil(s.rows[1].score, "scores of the old model are gone")
        XCTAssertTrue(s.anomalyMaps.isEmpty)
    }

    func testAResumedRunContinuesTheReplayedCurves() {
        var s = Self.opened()
        let replay = TrainingReplay(steps: [.init(epoch: 0, step: 1, stepsDone: 1, levelLosses: [1, 2, 3]),
                                            .init(epoch: 0, step: 2, stepsDone: 2, levelLosses: [1, 1, 1])],
                                    epochs: [EpochSummary(epoch: 1, validationScore: 0.5, isBest: true, seconds: 2)],
                                    plannedEpochs: 3, stepsPerEpoch: 2)
        _ = s.update(.engine(.trainingStarted(modelPath: "m", epochs: 3, replay: replay)))
        XCTAssertEqual(s.training.phase, .running)
        _ = s.update(.engine(Self.step(epoch: 1, step: 1)))
        XCTAssertEqual(s.training.totalLoss.map(\.x), [1, 2, 3])
        XCTAssertEqual(s.training.totalLoss.map(\.y), [6, 3, 0.875])
    }

    func testStoppedFailedAndStudentlessRuns() {
        var s = Self.opened()
        s.training.phase = .running
        XCTAssertEqual(s.update(.engine(.trainingEnded(modelPath: "m2", outcome: .interrupted(epoch: 1, step: 1), error: nil,
                                                       studentSaved: true))), [.score(modelPath: "m2", generation: 2)])
        XCTAssertEqual(s.training.phase, .idle)
        XCTAssertEqual(s.status, "training stopped; its checkpoint is saved (Enter in the training pane resumes)")
        s.training.phase = .running
        XCTAssertEqual(s.update(.engine(.trainingEnded(modelPath: "m3", outcome: .interrupted(epoch: 0, step: 1), error: nil,
                                                       studentSaved: false))), [], "nothing to score with before the first epoch")
        XCTAssertEqual(s.modelPath, "m2")
        s.training.phase = .running
        XCTAssertEqual(s.update(.engine(.trainingEnded(modelPath: "m3", outcome: nil, error: "disk full", studentSaved: true))), [])
        XCTAssertEqual(s.training.phase, .failed("disk full"))
        XCTAssertEqual(s.overlay, .message("training failed: disk full"))
        XCTAssertEqual(s.modelPath, "m2")
    }

    func testTrainingKeysChangeThePhaseAndSteerTheSession() {
        var s = Self.opened()
        s.focus = .training
        XCTAssertEqual(s.update(.key(.enter)), [.startTraining], "idle: the form")
        s.training.phase = .running
        XCTAssertEqual(s.update(.key(.enter)), [], "already running")
        XCTAssertEqual(s.update(.key(.char(" "))), [.pauseTraining])
        XCTAssertEqual(s.training.phase, .paused)
        XCTAssertEqual(s.update(.key(.enter)), [.resumeTraining])
        XCTAssertEqual(s.training.phase, .running)
        XCTAssertEqual(s.update(.key(.char("x"))), [.stopTraining])
        XCTAssertEqual(s.status, "stopping after the current step…")
        s.training.phase = .finished
        XCTAssertEqual(s.update(.key(.char("x"))), [])
        XCTAssertEqual(s.update(.key(.char(" "))), [])
    }

    func testScoringResultsOfTheCurrentModelOnly() {
        var s = Self.opened()
        let stored = Threshold(choice: .percentile(99), value: 0.25)
        _ = s.update(.engine(.modelLoaded(generation: 1, threshold: stored, normalScores: [0.125, 0.5])))
        XCTAssertEqual(s.heldOutNormalScores, [0.125, 0.5])
        XCTAssertEqual([s.threshold, s.storedThreshold], [0.25, 0.25])
        XCTAssertEqual(s.thresholdOrigin, ThresholdOrigin(value: 0.25, rule: .stored))
        XCTAssertEqual(s.savedThreshold, stored, "what the .stored rule resolves to")
        _ = s.update(.engine(.scored(generation: 1, id: 2, score: 0.75, map: Self.map([0.25, 0.75]))))
        _ = s.update(.engine(.scored(generation: 1, id: 0, score: 0.5, map: Self.map([0.125, 0.5]))))
        XCTAssertEqual(s.rows.map(\.score), [nil, nil, 0.75], "a train image gets its map, not a listed score")
        XCTAssertEqual(s.anomalyMaps[0], Self.map([0.125, 0.5]))
        XCTAssertEqual(s.mapRange, 0.125...0.75, "one colour scale over every map")
        s.inspectedID = 1
        s.inspected = InspectorImage()
        _ = s.update(.engine(.scored(generation: 1, id: 1, score: 0.25, map: Self.map([0.25]))))
        XCTAssertEqual(s.inspected?.anomalyMap, Self.map([0.25]), "the open image gets its map")
        _ = s.update(.engine(.scoringFinished(generation: 1, count: 2, seconds: 1.25)))
        XCTAssertEqual(s.status, "scored 2 test images in 1.2 s")

        _ = s.openModel("other")
        let before = s
        for stale: EngineEvent in [.modelLoaded(generation: 1, threshold: Threshold(choice: .manual, value: 9), normalScores: [9]),
                                   .scored(generation: 1, id: 2, score: 9, map: Self.map([9])),
                                   .scoringFinished(generation: 1, count: 2, seconds: 1),
                                   .scoringFailed(generation: 1, message: "gone")] {
            XCTAssertEqual(s.update(.engine(stale)), [])
        }
        XCTAssertEqual(s, before, "the replaced model's results are dropped")
        _ = s.update(.engine(.scoringFailed(generation: 2, message: "no student")))
        XCTAssertEqual(s.overlay, .message("scoring failed: no student"))
    }

    func testExportRunsOnceAndMovesToAFreshFolder() {
        var s = Self.opened()
        s.rows[2].score = 0.9
        s.threshold = 0.5
        _ = s.update(.key(.char("e")))
        XCTAssertEqual(s.update(.key(.char("y"))), [.exportFlagged(imageIDs: [2])])
        XCTAssertTrue(s.exporting)
        XCTAssertEqual(s.status, "exporting to stpm-export…")
        _ = s.update(.key(.char("e")))
        XCTAssertEqual(s.update(.key(.char("y"))), [], "one export at a time")
        XCTAssertEqual(s.status, "an export is already running")
        _ = s.update(.engine(.exportProgress("export: writing 1/1")))
        XCTAssertEqual(s.status, "export: writing 1/1")
        _ = s.update(.engine(.exportFinished(message: "Exported 1 of 2 images", nextDestination: "stpm-export-2")))
        XCTAssertFalse(s.exporting)
        XCTAssertEqual(s.overlay, .message("Exported 1 of 2 images"))
        XCTAssertEqual(s.exportDestination, "stpm-export-2")
        _ = s.update(.key(.enter))
        _ = s.update(.key(.char("e")))
        XCTAssertEqual(s.update(.key(.char("y"))), [.exportFlagged(imageIDs: [2])])
        _ = s.update(.engine(.exportFinished(message: "export failed: disk full", nextDestination: nil)))
        XCTAssertEqual(s.exportDestination, "stpm-export-2", "a failed export keeps its folder")
        XCTAssertFalse(s.exporting)
    }

    func testExportNeedsAModel() {
        var s = ConsoleState()
        s.rows = [ImageRow(id: 0, name: "test/crack/000.png", score: 0.9, label: .defective)]
        s.threshold = 0.5
        _ = s.update(.key(.char("e")))
        XCTAssertEqual(s.update(.key(.char("y"))), [])
        XCTAssertEqual(s.status, "no model open: nothing was scored")
        XCTAssertFalse(s.exporting)
    }
}
