import XCTest
import Foundation
@testable import Console
@testable import Detection
import ImageIO
import TestSupport

/// The pieces the app wires together that need no terminal: log reading, event folding,
/// the dataset index, the training form, tree scopes, colour reduction, the hint line.
final class ConsoleAppPartsTests: XCTestCase {
    private var temporaries: [TemporaryDirectory] = []

    private func tempDir() throws -> String {
        let dir = try TemporaryDirectory("console-parts")
        temporaries.append(dir)
        return dir.path
    }

    func testStepAndEpochEventsGrowTheCurves() {
        var s = TrainingStatus()
        let p = TrainingProgress(epoch: 1, epochs: 5, step: 2, stepsPerEpoch: 4, levelLosses: [0.5, 0.25, 0.125],
                                 imagesPerSecond: 12, secondsRemaining: 30)
        s.apply(.step(p))
        XCTAssertEqual(s.epoch, 2, "shown 1-based")
        XCTAssertEqual(s.step, 2)
        XCTAssertEqual(s.totalSteps, 4)
        XCTAssertEqual(s.levelLosses.map(\.count), [1, 1, 1])
        XCTAssertEqual(s.levelLosses[2][0], ChartPoint(x: 6, y: 0.125), "x counts steps done: 1 epoch of 4, then 2")
        XCTAssertEqual(s.totalLoss[0].y, 0.875)
        s.apply(.epoch(EpochSummary(epoch: 2, validationScore: 0.3, isBest: true, seconds: 1)))
        XCTAssertEqual(s.heldOutScores, [ChartPoint(x: 2, y: 0.3)])
        s.apply(.message("hello"))
        XCTAssertEqual(s.totalLoss.count, 1)
    }

    /// A replay (the session reads it from real logs: DetectionTests.TrainingSessionTests) draws
    /// the curves on the axis of the live events.
    func testReplayedLogsDrawOnTheLiveAxis() {
        let replay = TrainingReplay(
            steps: [.init(epoch: 0, step: 1, stepsDone: 1, levelLosses: [3, 2, 1]),
                    .init(epoch: 0, step: 2, stepsDone: 2, levelLosses: [2.5, 1.5, 0.5]),
                    .init(epoch: 1, step: 1, stepsDone: 3, levelLosses: [2, 1, 0.25])],
            epochs: [EpochSummary(epoch: 1, validationScore: 0.5, isBest: true, seconds: 1),
                     EpochSummary(epoch: 2, validationScore: nil, isBest: true, seconds: 1)],
            plannedEpochs: 5, stepsPerEpoch: 2, finished: false)
        var s = TrainingStatus(replay: replay)
        XCTAssertEqual(s.levelLosses[0].map(\.x), [1, 2, 3])
        XCTAssertEqual(s.levelLosses[2].map(\.y), [1, 0.5, 0.25])
        XCTAssertEqual(s.totalLoss.map(\.y), [6, 4.5, 3.25])
        XCTAssertEqual(s.heldOutScores, [ChartPoint(x: 1, y: 0.5)])
        XCTAssertEqual([s.epoch, s.step, s.totalEpochs, s.totalSteps], [2, 1, 5, 2])
        XCTAssertEqual(s.phase, .idle)
        XCTAssertEqual(TrainingStatus(replay: TrainingReplay(finished: true)).phase, .finished)
        s.apply(.step(TrainingProgress(epoch: 1, epochs: 5, step: 2, stepsPerEpoch: 2, levelLosses: [1, 1, 1],
                                       imagesPerSecond: 1, secondsRemaining: 1)))
        XCTAssertEqual(s.totalLoss.last, ChartPoint(x: 4, y: 3), "the live run continues the replayed curve")
    }

    func testDatasetIndexGroupsRowsAndLabels() throws {
        let root = try tempDir()
        for f in ["train/good/a.png", "train/good/b.png", "test/good/c.png", "test/crack/d.png", "test/crack/e.png", "test/crack/f.png",
                  "ground_truth/crack/f_mask.png"] {
            let path = root + "/" + f
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: path, contents: Data())
        }
        // d has a defect pixel, e an empty mask (good, as the engine labels it), f an unreadable one.
        try PNGFile.write(Image8(width: 2, height: 2, channels: 1, pixels: [0, 0, 0, 255]), path: root + "/ground_truth/crack/d_mask.png")
        try PNGFile.write(Image8(width: 2, height: 2, channels: 1, pixels: [0, 0, 0, 0]), path: root + "/ground_truth/crack/e_mask.png")
        let index = DatasetIndex(try MVTecDataset(root: root))
        XCTAssertEqual(index.groups, [DatasetGroup(split: "train", name: "good", count: 2),
                                      DatasetGroup(split: "test", name: "crack", count: 3),
                                      DatasetGroup(split: "test", name: "good", count: 1)])
        XCTAssertEqual(index.rows.map(\.name), ["train/good/a.png", "train/good/b.png", "test/crack/d.png", "test/crack/e.png",
                                                "test/crack/f.png", "test/good/c.png"])
        XCTAssertEqual(index.rows.map(\.label), [.unknown, .unknown, .defective, .normal, .unknown, .normal])
        XCTAssertEqual(index.problems.count, 1)
        XCTAssertTrue(index.problems[0].contains("f_mask.png"), index.problems[0])
        XCTAssertEqual(index.rows.map(\.id), [0, 1, 2, 3, 4, 5], "ids index the samples")
        XCTAssertEqual(index.testIDs, [2, 3, 4, 5])
    }

    func testTreeScopesFilterTheList() {
        var s = ConsoleStateTests.sample()
        XCTAssertEqual(s.treeScopes, ["train/", "train/good/", "test/", "test/good/", "test/crack/"])
        s.scope = "test/"
        _ = s.handle(.right)
        XCTAssertEqual(s.scope, "test/good/")
        XCTAssertEqual(s.visibleRows.map(\.id), [2, 1])
        _ = s.handle(.char("l"))
        XCTAssertEqual(s.visibleRows.map(\.id), [3, 4])
        _ = s.handle(.right)
        XCTAssertEqual(s.scope, "test/crack/", "stops at the last folder")
        for _ in 0..<9 { _ = s.handle(.char("h")) }
        XCTAssertEqual(s.scope, "train/")
        XCTAssertTrue(s.visibleRows.isEmpty)
        let g = ConsoleView().render(s, RenderContext(theme: .builtin, colormap: .builtinJet), width: 100, height: 30)
        XCTAssertTrue(g.plainText().contains { $0.contains("▸train/ 209") }, "the listed folder is marked")
    }

    func testTrainingFormEditsAndSubmitsThroughTheOverlay() {
        var s = ConsoleStateTests.sample()
        s.overlay = .trainingForm(TrainingForm(fields: [.init("model", "m", help: ""), .init("epochs", "10", help: "")]))
        for k: Key in [.char("q"), .down, .backspace, .char("2"), .up, .backspace] { XCTAssertNil(s.handle(k)) }
        guard case .trainingForm(let form)? = s.overlay else { return XCTFail("form closed") }
        XCTAssertEqual(form["model"], "m", "q typed, then deleted: it does not quit")
        XCTAssertEqual(form["epochs"], "12")
        XCTAssertEqual(s.handle(.enter), .beginTraining(form))
        XCTAssertNil(s.overlay)
        s.overlay = .trainingForm(form)
        XCTAssertNil(s.handle(.escape))
        XCTAssertNil(s.overlay)
    }

    func testColourReductionShowsThePaletteColour() {
        var g = CellGrid(width: 2, height: 1)
        g.set(0, 0, "x", CellStyle(fg: .rgb(RGB(250, 2, 3)), bg: .terminalDefault))
        g.set(1, 0, "y", CellStyle(fg: .rgb(RGB(10, 20, 200)), bg: .rgb(RGB(128, 128, 128))))
        let r = g.reduced(to: .xterm256)
        XCTAssertEqual(r[0, 0].style.fg, .rgb(RGB(255, 0, 0)))
        XCTAssertEqual(r[0, 0].style.bg, .terminalDefault)
        XCTAssertEqual(r[1, 0].style.fg, .rgb(Palette.rgb(ofIndex: Palette.xterm256Index(RGB(10, 20, 200)))))
        XCTAssertEqual(g.reduced(to: .monochrome)[1, 0].style, CellStyle())
        XCTAssertEqual(r[1, 0].character, "y")
    }

    func testHintLineKeepsHelpAndQuitAt80Columns() {
        var s = ConsoleStateTests.sample()
        for pane in PaneID.allCases {
            s.focus = pane
            let last = ConsoleView().render(s, RenderContext(theme: .builtin, colormap: .builtinJet), width: 80, height: 24).plainText().last!
            XCTAssertTrue(last.contains("? help") && last.contains("q quit"), "\(pane): \(last)")
        }
    }

    func testEventQueueDrainsInOrderOnce() {
        let q = EventQueue()
        q.push(.exportProgress("a"))
        q.push(.exportProgress("b"))
        let drained = q.drain().compactMap { e -> String? in if case .exportProgress(let s) = e { return s }; return nil }
        XCTAssertEqual(drained, ["a", "b"])
        XCTAssertTrue(q.drain().isEmpty)
    }

    func testFreshExportFolderSkipsNonEmptyOnes() throws {
        let dir = try tempDir()
        XCTAssertEqual(ConsoleApp.freshFolder(dir + "/out"), dir + "/out")
        try FileManager.default.createDirectory(atPath: dir + "/out", withIntermediateDirectories: true)
        XCTAssertEqual(ConsoleApp.freshFolder(dir + "/out"), dir + "/out", "an empty folder is fine")
        FileManager.default.createFile(atPath: dir + "/out/report.csv", contents: Data())
        XCTAssertEqual(ConsoleApp.freshFolder(dir + "/out"), dir + "/out-2")
    }
}
