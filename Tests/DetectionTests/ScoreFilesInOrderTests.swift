import Foundation
import XCTest
@testable import Detection

/// `scoreFiles` (`stpm score`, the console, `watch`, labelled scoring): lanes that never meet before the last file, and
/// an `each` called by whichever lane finds the next result ready.
final class ScoreFilesInOrderTests: XCTestCase {
    /// Eight batches of two and an unreadable file: `each` gets every file in order, one call at a time, with the result
    /// the file scored alone gives (one lane), bit for bit, also when a slow `each` lets the other lane run up to its
    /// window ahead.
    func testEveryFileInOrderOneCallAtATimeWithTheFileAlonesResult() throws {
        let model = try AnomalyModel(path: SyntheticSet.trainedModel(), batchSize: 2)
        let bad = SyntheticSet.root + "/broken-in-order.png"
        try Data("not a png".utf8).write(to: URL(fileURLWithPath: bad))
        let test = SyntheticSet.data + "/test/"
        let images = ["good/000.png", "scratch/001.png", "good/001.png", "scratch/000.png"].map { test + $0 }
        var files = (0..<16).map { images[$0 % images.count] }
        files[5] = bad
        var expected: [Int: Result<ImageScore, Error>] = [:]
        for (i, file) in files.enumerated() { try model.scoreFiles([file]) { expected[i] = $1 } }
        for slow in [false, true] {
            let calls = CallCheck()
            var order: [Int] = []
            try model.scoreFiles(files) { index, result in
                calls.enter()
                defer { calls.leave() }
                if slow { usleep(20_000) }
                order.append(index)
                switch (result, expected[index]!) {
                case (.success(let got), .success(let want)):
                    XCTAssertEqual(got.map, want.map, files[index])
                    XCTAssertEqual(got.score.bitPattern, want.score.bitPattern, files[index])
                case (.failure(let error), .failure):
                    XCTAssertTrue("\(error)".contains(bad), "\(error)")
                default:
                    XCTFail("\(files[index]): \(result) where it alone gave \(expected[index]!)")
                }
            }
            XCTAssertEqual(order, Array(files.indices), "slow: \(slow)")
            XCTAssertFalse(calls.overlapped, "each ran on two threads at once")
        }
    }

    /// `each` throwing stops the scoring: no later file reaches it, its error is thrown, and the lane waiting for room
    /// beyond it gives up (on a thread of its own here, so that a lane left waiting fails the test rather than hangs it).
    func testEachThrowingStopsAndIsThrown() throws {
        let model = try AnomalyModel(path: SyntheticSet.trainedModel(), batchSize: 2)
        let files = (0..<12).map { SyntheticSet.data + "/test/good/00\($0 % 2).png" }
        struct Stop: Error {}
        nonisolated(unsafe) var order: [Int] = [], thrown: Error?
        let finished = DispatchSemaphore(value: 0)
        Thread {
            do {
                try model.scoreFiles(files) { index, _ in
                    order.append(index)
                    if index == 3 { throw Stop() }
                }
            } catch { thrown = error }
            finished.signal()
        }.start()
        guard finished.wait(timeout: .now() + 120) == .success else { return XCTFail("scoring never returned") }
        XCTAssertTrue(thrown is Stop, "\(String(describing: thrown))")
        XCTAssertEqual(order, [0, 1, 2, 3])
    }
}

/// Notices two threads inside a section at once.
private final class CallCheck: @unchecked Sendable {
    private let lock = NSLock()
    private var inside = 0
    private(set) var overlapped = false

    func enter() {
        lock.lock()
        inside += 1
        if inside > 1 { overlapped = true }
        lock.unlock()
    }

    func leave() {
        lock.lock()
        inside -= 1
        lock.unlock()
    }
}
