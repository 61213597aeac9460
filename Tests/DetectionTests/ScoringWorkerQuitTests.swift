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
}
