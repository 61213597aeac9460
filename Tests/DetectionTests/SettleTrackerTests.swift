import XCTest
@testable import Detection

final class SettleTrackerTests: XCTestCase {
    let a = FileState(size: 100, mtimeNs: 1), b = FileState(size: 200, mtimeNs: 2)

    func testAFileIsReadyOnlyAfterStayingUnchangedForTheSettleTime() {
        var tracker = SettleTracker(settle: 0.5, retryDelay: 2)
        tracker.observe("x.png", a, now: 10)
        XCTAssertEqual(tracker.due(now: 10.4, limit: 8), [])
        XCTAssertEqual(tracker.due(now: 10.5, limit: 8), ["x.png"])
        XCTAssertFalse(tracker.confirm("x.png", current: b, now: 10.5), "it grew meanwhile: not complete")
        XCTAssertEqual(tracker.due(now: 10.9, limit: 8), [], "a change restarts the wait")
        XCTAssertEqual(tracker.nextDue, 11.0)
        XCTAssertTrue(tracker.confirm("x.png", current: b, now: 11.0))
        XCTAssertEqual(tracker.due(now: 20, limit: 8), [], "in hand: not handed out twice")
        tracker.finish("x.png")
        XCTAssertTrue(tracker.isEmpty)
    }

    func testSeeingAnUnchangedFileAgainKeepsItsTimeAndAChangedOneRestartsIt() {
        var tracker = SettleTracker(settle: 1, retryDelay: 2)
        tracker.observe("x.png", a, now: 0)
        tracker.observe("x.png", a, now: 0.9)
        XCTAssertEqual(tracker.due(now: 1, limit: 8), ["x.png"])
        tracker.observe("x.png", b, now: 1)
        XCTAssertEqual(tracker.due(now: 1.5, limit: 8), [])
        XCTAssertEqual(tracker.due(now: 2, limit: 8), ["x.png"])
    }

    func testAVanishedFileIsForgotten() {
        var tracker = SettleTracker(settle: 0, retryDelay: 1)
        tracker.observe("x.png", a, now: 0)
        XCTAssertFalse(tracker.confirm("x.png", current: nil, now: 0))
        XCTAssertTrue(tracker.isEmpty)
    }

    func testAnUndecodableFileGetsOneMoreChanceThenIsReported() {
        var tracker = SettleTracker(settle: 0, retryDelay: 1)
        tracker.observe("x.png", a, now: 0)
        XCTAssertTrue(tracker.confirm("x.png", current: a, now: 0))
        XCTAssertFalse(tracker.failedToDecode("x.png", now: 0), "first failure: wait for the writer")
        XCTAssertEqual(tracker.due(now: 0.9, limit: 8), [])
        XCTAssertTrue(tracker.confirm("x.png", current: a, now: 1))
        XCTAssertTrue(tracker.failedToDecode("x.png", now: 1), "second failure: report it")
        XCTAssertTrue(tracker.isEmpty)
    }

    func testAFileThatChangesAfterFailingStartsOver() {
        var tracker = SettleTracker(settle: 0, retryDelay: 1)
        tracker.observe("x.png", a, now: 0)
        XCTAssertTrue(tracker.confirm("x.png", current: a, now: 0))
        XCTAssertFalse(tracker.failedToDecode("x.png", now: 0))
        XCTAssertFalse(tracker.confirm("x.png", current: b, now: 1), "it grew: a new version")
        XCTAssertTrue(tracker.confirm("x.png", current: b, now: 1))
        XCTAssertFalse(tracker.failedToDecode("x.png", now: 1), "the new version has its own two chances")
    }

    func testDueFilesComeEarliestFirstAndFullnessIsReported() {
        var tracker = SettleTracker(settle: 1, retryDelay: 1, capacity: 2)
        tracker.observe("late.png", a, now: 5)
        tracker.observe("early.png", a, now: 1)
        XCTAssertTrue(tracker.isFull)
        XCTAssertEqual(tracker.due(now: 9, limit: 8), ["early.png", "late.png"])
        XCTAssertEqual(tracker.due(now: 9, limit: 1), ["early.png"])
    }
}
