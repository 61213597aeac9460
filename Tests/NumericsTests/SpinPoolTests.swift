import Dispatch
import XCTest
@testable import Numerics

final class SpinPoolTests: XCTestCase {
    /// Runs `body` with one counter per part, zeroed, and returns the counters once it has returned.
    private func counted(_ count: Int, _ body: (UnsafeMutablePointer<Int>) -> Void) -> [Int] {
        let counters = UnsafeMutablePointer<Int>.allocate(capacity: count)
        defer { counters.deallocate() }
        counters.initialize(repeating: 0, count: count)
        body(counters)
        return Array(UnsafeBufferPointer(start: counters, count: count))
    }

    func testEveryPartRunsOnceAndBeforeTheCallReturns() {
        for count in 1...9 {
            for round in 0..<300 {
                let runs = counted(count) { c in
                    // Parts of 0-40 µs, uneven, so that workers and the caller finish in every order.
                    XCTAssertTrue(SpinPool.run(count) { i in
                        let end = DispatchTime.now().uptimeNanoseconds + UInt64((i * 7 + round) % 5 * 10_000)
                        while DispatchTime.now().uptimeNanoseconds < end {}
                        c[i] += 1
                    })
                }
                XCTAssertEqual(runs, [Int](repeating: 1, count: count), "\(count) parts, round \(round)")
            }
        }
    }

    func testANestedCallIsDeclinedAndParallelChunksStillRunsEveryPart() {
        let saved = Parallelism.threads
        Parallelism.set(2)
        defer { Parallelism.set(saved) }
        let runs = counted(8) { c in
            XCTAssertTrue(SpinPool.run(2) { outer in
                XCTAssertFalse(SpinPool.run(2) { _ in }, "the pool runs one job at a time")
                parallelChunks(4, work: Int.max) { _, range in for i in range { c[outer * 4 + i] += 1 } }
            })
        }
        XCTAssertEqual(runs, [Int](repeating: 1, count: 8))
    }

    func testConcurrentCallersEachRunAllTheirParts() {
        let saved = Parallelism.threads
        Parallelism.set(3)
        defer { Parallelism.set(saved) }
        let callers = 4, calls = 200, parts = 5
        let runs = counted(callers * calls * parts) { c in
            DispatchQueue.concurrentPerform(iterations: callers) { k in
                for call in 0..<calls {
                    parallelChunks(parts, work: Int.max) { _, range in
                        for i in range { c[(k * calls + call) * parts + i] += 1 }
                    }
                }
            }
        }
        XCTAssertEqual(runs, [Int](repeating: 1, count: callers * calls * parts))
    }
}
