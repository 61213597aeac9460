import Foundation
import XCTest
@testable import Numerics

/// `Parallelism.perform` runs every task once and never more of them at a time than `threads`, where
/// Dispatch's `concurrentPerform` would use every core (`--threads 1` then left one core for eval's metrics).
final class ParallelPerformTests: XCTestCase {
    func testEveryTaskRunsOnceWithAtMostThreadsAtATime() {
        for threads in [1, 2, 3] {
            Parallelism.withThreads(threads) {
                let lock = NSLock()
                var running = 0, most = 0, runs = [Int](repeating: 0, count: 12)
                Parallelism.perform(runs.count) { i in
                    lock.lock(); running += 1; most = max(most, running); runs[i] += 1; lock.unlock()
                    // Long enough that tasks started together overlap.
                    Thread.sleep(forTimeInterval: 0.005)
                    lock.lock(); running -= 1; lock.unlock()
                }
                XCTAssertEqual(runs, [Int](repeating: 1, count: runs.count), "\(threads) threads")
                XCTAssertLessThanOrEqual(most, threads, "\(threads) threads")
                if threads > 1 && ProcessInfo.processInfo.activeProcessorCount > 1 {
                    XCTAssertGreaterThan(most, 1, "\(threads) threads ran one task at a time")
                }
            }
        }
    }
}
