import Foundation
import XCTest
@testable import Console
import TestSupport

/// Quitting the console waits for the scoring thread: a process that exits while that thread is
/// inside OpenBLAS crashes in OpenBLAS's teardown (the e2e `q quits` check caught one such segfault).
final class ScoringWorkerQuitTests: XCTestCase {
    func testCancelAndWaitReturnsOnlyWhenTheThreadHasEnded() throws {
        let dir = try TemporaryDirectory("stpm-scoring-quit")
        let model = try SyntheticSet.modelCopy(in: dir)
        let image = SyntheticSet.data + "/test/good/000.png"
        let events = EventQueue()
        let worker = ScoringWorker(modelPath: model, jobs: (0..<2000).map { (id: $0, path: image) }, generation: 0, events: events)
        worker.start()
        let start = Date()
        var scored = 0
        while scored == 0, Date().timeIntervalSince(start) < 120 {
            scored += events.drain().filter { if case .scored = $0 { true } else { false } }.count
            usleep(2_000)
        }
        XCTAssertGreaterThan(scored, 0, "the worker never scored")
        worker.cancelAndWait()
        _ = events.drain()
        usleep(300_000)
        XCTAssertEqual(events.drain().count, 0, "the worker was still scoring after cancelAndWait returned")
        worker.cancelAndWait()
    }

    /// An unreadable image among the test images is reported by name, and the rest of its batch is still scored.
    func testAnUnreadableImageLeavesTheRestOfItsBatchScored() throws {
        let dir = try TemporaryDirectory("stpm-scoring-bad")
        let model = try SyntheticSet.modelCopy(in: dir)
        let good = SyntheticSet.data + "/test/good/000.png", bad = dir.path + "/broken.png"
        try Data("not a png".utf8).write(to: URL(fileURLWithPath: bad))
        let events = EventQueue()
        let jobs = [(id: 0, path: good), (id: 1, path: bad), (id: 2, path: good)]
        let worker = ScoringWorker(modelPath: model, jobs: jobs, generation: 0, events: events)
        worker.start()
        var scored: Set<Int> = [], failures: [String] = []
        let start = Date()
        while scored.count < 2 || failures.isEmpty, Date().timeIntervalSince(start) < 30 {
            for event in events.drain() {
                if case let .scored(_, id, _, _) = event { scored.insert(id) }
                if case let .scoringFailed(_, message) = event { failures.append(message) }
            }
            usleep(2_000)
        }
        worker.cancelAndWait()
        XCTAssertEqual(scored, [0, 2])
        XCTAssertEqual(failures.count, 1)
        XCTAssertTrue(failures.first?.contains("broken.png") ?? false, "\(failures)")
    }
}
