import Dispatch
import Synchronization
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
    /// `Parallelism.split` (teacher and student side by side, the lanes) runs its parts on the pool, or on Dispatch
    /// when the pool is taken (a split inside another's part): either way every part runs once, beside the others,
    /// seeing its share of the threads, and its own loops still run every index.
    func testSplitRunsEachPartOnceBesideTheOthersWithItsShare() {
        let saved = Parallelism.threads
        defer { Parallelism.set(saved) }
        for total in 2...5 {
            Parallelism.set(total)
            for nested in [false, true] {
                let ways = 2, loop = 6
                let arrived = Arrivals()
                var seen = [Int](repeating: 0, count: ways), together = [Bool](repeating: false, count: ways)
                let runs = counted(ways + ways * loop) { c in
                    nonisolated(unsafe) let c = c
                    seen.withUnsafeMutableBufferPointer { seen in
                        together.withUnsafeMutableBufferPointer { together in
                            nonisolated(unsafe) let (seen, together) = (seen, together)
                            let split = {
                                Parallelism.split(ways: ways) { k in
                                    c[k] += 1
                                    seen[k] = Parallelism.threads
                                    parallelChunks(loop, work: Int.max) { _, range in for i in range { c[ways + k * loop + i] += 1 } }
                                    // Each part waits (1 s at most) for the others to start: they run side by side.
                                    arrived.count.add(1, ordering: .sequentiallyConsistent)
                                    let end = DispatchTime.now().uptimeNanoseconds + 1_000_000_000
                                    while arrived.count.load(ordering: .sequentiallyConsistent) < ways,
                                          DispatchTime.now().uptimeNanoseconds < end {}
                                    together[k] = arrived.count.load(ordering: .sequentiallyConsistent) == ways
                                }
                            }
                            if nested { XCTAssertTrue(SpinPool.run(1) { _ in split() }) } else { split() }
                        }
                    }
                }
                let context = "\(total) threads, nested \(nested)"
                XCTAssertEqual(runs, [Int](repeating: 1, count: ways + ways * loop), context)
                XCTAssertEqual(seen, [total / 2, total - total / 2], context)
                XCTAssertEqual(together, [true, true], context)
            }
        }
    }
}

private final class Arrivals: Sendable {
    let count = Atomic<Int>(0)
}
