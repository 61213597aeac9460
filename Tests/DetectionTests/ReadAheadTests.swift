import Foundation
import XCTest
@testable import Detection

final class ReadAheadTests: XCTestCase {
    /// What each read saw: the item, whether a reader thread (not the consumer) read it, its nice value,
    /// and how far beyond the consumer it was.
    private final class Log: @unchecked Sendable {
        let lock = NSLock()
        var reads: [(item: Int, byReader: Bool, nice: Int32, ahead: Int)] = []
        var taken = 0
        func add(_ item: Int, byReader: Bool) {
            lock.lock()
            reads.append((item, byReader, getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0), item - taken))
            lock.unlock()
        }
        func wasRead(_ item: Int) -> Bool {
            lock.lock(); defer { lock.unlock() }
            return reads.contains { $0.item == item }
        }
    }

    /// A slow consumer gets every item in order from readers running at nice 19, never more than
    /// `window` items ahead of it.
    func testReadersReadAheadAtTheLowestPriorityWithinTheWindow() {
        let log = Log()
        let consumer = Thread.current
        let items = ReadAhead(count: 40, window: 4, readers: 2) { i -> Int in
            log.add(i, byReader: Thread.current != consumer)
            return i * i
        }
        for i in 0..<40 {
            log.lock.lock(); log.taken = i; log.lock.unlock()
            // A nice-19 reader may wait a few scheduler periods on a loaded machine: the slow consumer gives
            // it up to 250 ms per item, so only readers that never read ahead fail the count below.
            let deadline = Date() + 0.25
            while !log.wasRead(i) && Date() < deadline { usleep(1000) }
            XCTAssertEqual(items.take(i), i * i)
        }
        items.stop()
        let byReaders = log.reads.filter(\.byReader)
        XCTAssertGreaterThan(byReaders.count, 30, "the readers read ahead: \(log.reads.map(\.item))")
        XCTAssertTrue(byReaders.allSatisfy { $0.nice == 19 }, "nice: \(byReaders.map(\.nice))")
        XCTAssertLessThanOrEqual(log.reads.map(\.ahead).max()!, 4)
    }

    /// A reader that never finishes (starved, or stuck on a slow disk) does not hold the consumer: it reads
    /// the item itself.
    func testConsumerDoesNotWaitForAStalledReader() {
        let release = DispatchSemaphore(value: 0)
        let consumer = Thread.current
        let items = ReadAhead(count: 6, window: 6, readers: 1) { i -> Int in
            // The reader gets stuck in item 0 (for 10 s, so a consumer that waits for it fails rather than hangs).
            if i == 0 && Thread.current != consumer { _ = release.wait(timeout: .now() + 10) }
            return i + 100
        }
        usleep(50_000)
        let start = Date()
        XCTAssertEqual((0..<6).map(items.take), [100, 101, 102, 103, 104, 105])
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        items.stop()
        release.signal()
    }

    /// Scoring's lanes take items from several threads at once, each index once: every item arrives once.
    func testSeveralConsumersTakeDisjointItems() {
        let reads = Counts(100)
        let items = ReadAhead(count: 100, window: 8, readers: 2) { i -> Int in
            reads.add(i)
            return i * 3
        }
        let got = Counts(100)
        DispatchQueue.concurrentPerform(iterations: 4) { k in
            for i in stride(from: k, to: 100, by: 4) where items.take(i) == i * 3 { got.add(i) }
        }
        items.stop()
        XCTAssertEqual(got.values, Array(repeating: 1, count: 100), "each item arrives once, with its value")
        // Twice only where a consumer read an item a reader still held (and nothing else was left to read).
        XCTAssertTrue(reads.values.allSatisfy { (1...2).contains($0) }, "reads per item: \(reads.values)")
    }

    /// Once readers have started, memory the process frees stays with it for reuse: 100 MB in 1 MB blocks,
    /// written and freed, leave the resident size where it was. glibc's adaptive thresholds unmapped or
    /// trimmed such blocks, and scoring then faulted its per-image buffers in again, zeroed.
    func testFreedMemoryStaysForReuseOnceReadersStart() throws {
        #if os(Linux)
        ReadAhead(count: 0, window: 1, readers: 0) { $0 }.stop()
        let blocks = (0..<100).map { _ in UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 64) }
        for block in blocks { memset(block, 1, 1 << 20) }
        let touched = try Self.residentBytes()
        for block in blocks { block.deallocate() }
        let after = try Self.residentBytes()
        XCTAssertGreaterThan(after, touched - (20 << 20), "resident \(touched >> 20) MB, \(after >> 20) MB after the frees")
        #endif
    }

    private static func residentBytes() throws -> Int {
        let fields = try String(contentsOfFile: "/proc/self/statm", encoding: .utf8).split(separator: " ")
        return Int(fields[1])! * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

private final class Counts: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [Int]
    init(_ n: Int) { counts = Array(repeating: 0, count: n) }
    func add(_ i: Int) { lock.lock(); counts[i] += 1; lock.unlock() }
    var values: [Int] { lock.lock(); defer { lock.unlock() }; return counts }
}
