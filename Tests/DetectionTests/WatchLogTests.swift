import Foundation
import XCTest
import TestSupport
@testable import Detection

final class WatchLogTests: XCTestCase {
    var folder: TemporaryDirectory!
    var file: String { folder.file("watch.jsonl") }

    override func setUpWithError() throws { folder = try TemporaryDirectory("watchlog") }

    func record(_ path: String, size: Int64 = 10, mtimeNs: Int64 = 1_764_460_000_123_456_789) -> WatchRecord {
        WatchRecord(path: path, size: size, mtime: "t", mtimeNs: mtimeNs, score: 0.25, threshold: 0.5, verdict: .ok,
                    error: nil, hook: nil, time: "t", lag: 0.1)
    }

    func testReopenedLogKnowsEveryVersionItHolds() throws {
        do {
            let log = try WatchLog(path: file)
            try log.append(record("/d/a.png"))
            try log.append(record("/d/b.png"))
        }
        let log = try WatchLog(path: file)
        XCTAssertEqual(log.lines, 2)
        XCTAssertTrue(log.contains(path: "/d/a.png", file: FileState(size: 10, mtimeNs: 1_764_460_000_123_456_789)))
        XCTAssertFalse(log.contains(path: "/d/a.png", file: FileState(size: 10, mtimeNs: 1_764_460_000_123_456_790)),
                       "the same name rewritten a nanosecond later is a new image")
        XCTAssertFalse(log.contains(path: "/d/a.png", file: FileState(size: 11, mtimeNs: 1_764_460_000_123_456_789)))
        XCTAssertFalse(log.contains(path: "/d/c.png", file: FileState(size: 10, mtimeNs: 1_764_460_000_123_456_789)))
        XCTAssertTrue(log.notes.isEmpty)
    }

    func testLinesAreJSONWithPathFirst() throws {
        let log = try WatchLog(path: file)
        try log.append(record("/d/\"quoted\".png"))
        let text = try String(contentsOfFile: file, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("{\"path\":"), text)
        XCTAssertTrue(text.hasSuffix("}\n"))
        let decoded = try JSONDecoder().decode(WatchRecord.self, from: Data(text.utf8))
        XCTAssertEqual(decoded, record("/d/\"quoted\".png"))
    }

    func testTornLastLineIsCutAndItsImageScoredAgain() throws {
        do { try WatchLog(path: file).append(record("/d/a.png")) }
        let whole = try record("/d/b.png").jsonLine()
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
        handle.seekToEndOfFile()
        handle.write(whole.prefix(whole.count / 2))
        try handle.close()

        let log = try WatchLog(path: file)
        XCTAssertEqual(log.lines, 1)
        XCTAssertFalse(log.contains(path: "/d/b.png", file: record("/d/b.png").file))
        XCTAssertTrue(log.notes.contains { $0.contains("incomplete last line") }, "\(log.notes)")
        try log.append(record("/d/b.png"))
        let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        XCTAssertNoThrow(try lines.map { try JSONDecoder().decode(WatchRecord.self, from: Data($0.utf8)) })
    }

    func testDamagedLinesAreSkippedAndNamed() throws {
        let good = try record("/d/a.png").jsonLine()
        try (Data("not json\n".utf8) + good + Data("{\"path\": 3}\n".utf8)).write(to: URL(fileURLWithPath: file))
        let log = try WatchLog(path: file)
        XCTAssertEqual(log.lines, 1)
        XCTAssertEqual(log.notes, ["\(file): 2 lines are not watch records and were skipped (line 1, 3)"])
    }

    func testASecondWatcherOnTheSameLogIsRefused() throws {
        let first = try WatchLog(path: file)
        XCTAssertThrowsError(try WatchLog(path: file)) { error in
            guard case WatchLogError.inUse(let f) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(f, self.file)
        }
        withExtendedLifetime(first) {}
    }

    func testStableHashIsFixedAcrossProcesses() {
        // FNV-1a then fmix64, computed independently in Python: shard assignment and the log index must
        // not change between runs or machines.
        XCTAssertEqual(StableHash.of("a.png"), 0x2aeb_f20d_74da_8d70)
        XCTAssertEqual(StableHash().value, 0xefd0_1f60_ba99_2926)
    }
}
