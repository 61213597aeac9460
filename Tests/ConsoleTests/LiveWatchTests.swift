import XCTest
@testable import Console
@testable import Detection

/// The live view's watch events go through the console's one update: rows newest first with the
/// engine's verdict, the chart, the alarm, the bell and the inspector following flagged images.
final class LiveWatchTests: XCTestCase {
    static func record(_ path: String, score: Float?, verdict: WatchRecord.Verdict) -> WatchRecord {
        WatchRecord(path: path, size: 1, mtime: "t", mtimeNs: 1, score: score, threshold: 0.5, verdict: verdict,
                    error: nil, hook: nil, time: "t", lag: 0.1)
    }

    static func watching(bell: Bool = true) -> ConsoleState {
        var s = ConsoleState()
        s.threshold = 0.5
        s.live = LiveWatchStatus(folders: ["/line"], bell: bell)
        s.sort = .arrival
        return s
    }

    static let map = ScalarMap(width: 2, height: 1, values: [0.1, 0.9])

    func testImagesListNewestFirstWithScoresAndTheChart() {
        var s = Self.watching()
        XCTAssertEqual(s.update(.engine(.watched(Self.record("/line/a.png", score: 0.25, verdict: .ok), map: Self.map))), [])
        XCTAssertEqual(s.update(.engine(.watched(Self.record("/line/b/c.png", score: 0.375, verdict: .ok), map: Self.map))), [])
        XCTAssertEqual(s.visibleRows.map(\.name), ["live/line/b/c.png", "live/line/a.png"])
        XCTAssertEqual(s.groups, [DatasetGroup(split: "live", name: "line", count: 2)])
        XCTAssertEqual(s.treeScopes, ["live/", "live/line/"])
        XCTAssertEqual(s.visibleRows.map(\.score), [0.375, 0.25])
        XCTAssertEqual(s.live?.recentScores, [0.25, 0.375])
        XCTAssertNil(s.live?.alarm)
        XCTAssertEqual(s.anomalyMaps[1], Self.map)
    }

    func testAFlaggedImageRingsAndIsInspectedUntilTheUserOpensAnother() {
        var s = Self.watching()
        _ = s.update(.engine(.watched(Self.record("/line/a.png", score: 0.25, verdict: .ok), map: Self.map)))
        XCTAssertEqual(s.update(.engine(.watched(Self.record("/line/b.png", score: 0.75, verdict: .flagged), map: Self.map))),
                       [.bell, .inspect(imageID: 1)])
        XCTAssertEqual(s.live?.alarm, "NG /line/b.png 0.75")
        s.selected = 1
        XCTAssertEqual(s.update(.key(.enter)), [.inspect(imageID: 0)])
        XCTAssertEqual(s.update(.engine(.watched(Self.record("/line/c.png", score: 0.875, verdict: .flagged), map: Self.map))),
                       [.bell], "the user's choice stays in the inspector")
        _ = s.update(.key(.char("n")))
        XCTAssertEqual(s.update(.engine(.watched(Self.record("/line/d.png", score: 0.625, verdict: .flagged), map: Self.map))),
                       [.bell, .inspect(imageID: 3)])
    }

    func testTheEngineVerdictDecidesNotTheConsole() {
        var s = Self.watching(bell: false)
        XCTAssertEqual(s.update(.engine(.watched(Self.record("/line/a.png", score: 0.75, verdict: .ok), map: Self.map))), [])
        XCTAssertNil(s.live?.alarm)
        XCTAssertEqual(s.update(.engine(.watched(Self.record("/line/b.png", score: 0.25, verdict: .flagged), map: Self.map))),
                       [.inspect(imageID: 1)], "no bell without --bell")
    }

    func testUnreadableImagesAreListedWithoutScoreAndTheWatcherGivesRateAndLag() {
        var s = Self.watching()
        XCTAssertEqual(s.update(.engine(.watched(Self.record("/line/x.png", score: nil, verdict: .unreadable), map: nil))), [])
        XCTAssertEqual(s.rows, [ImageRow(id: 0, name: "live/line/x.png (unreadable)")])
        XCTAssertEqual(s.live?.recentScores, [])
        XCTAssertEqual([s.live?.seen, s.live?.flagged, s.live?.unreadable], [1, 0, 1])
        var status = WatchStatus()
        (status.seen, status.flagged, status.unreadable, status.waiting, status.rate, status.lag) = (7, 2, 1, 4, 3.5, 0.25)
        _ = s.update(.engine(.watchStatus(status)))
        XCTAssertEqual([s.live?.seen, s.live?.flagged, s.live?.unreadable, s.live?.waiting], [1, 0, 1, 4],
                       "the counts are of the images the view was sent (the watcher's lag behind by up to 2 s)")
        XCTAssertEqual(s.live?.rate, 3.5)
        XCTAssertEqual(s.live?.lag, 0.25)
    }

    /// A days-long session: the list, the tree and the app's index keep the newest rows; the counters stay exact.
    func testAHundredThousandImagesKeepTheNewestRowsAndExactCounts() {
        var s = Self.watching(bell: false)
        var index = DatasetIndex()
        let kept = s.live!.rowsKept
        var expected = (seen: 0, flagged: 0, unreadable: 0)
        for i in 0..<100_000 {
            let verdict: WatchRecord.Verdict = i % 97 == 0 ? .unreadable : i % 13 == 0 ? .flagged : .ok
            let path = "/line/\(i % 3)/\(i).png"
            index.append(watched: path, id: s.nextLiveID, keep: kept)
            let record = Self.record(path, score: verdict == .unreadable ? nil : Float(i % 10) / 10, verdict: verdict)
            _ = s.update(.engine(.watched(record, map: verdict == .unreadable ? nil : Self.map)))
            expected.seen += 1
            if verdict == .flagged { expected.flagged += 1 }
            if verdict == .unreadable { expected.unreadable += 1 }
        }
        XCTAssertEqual([s.live?.seen, s.live?.flagged, s.live?.unreadable], [expected.seen, expected.flagged, expected.unreadable])
        XCTAssertEqual(s.rows.count, kept)
        XCTAssertEqual(s.rows.map(\.id), Array(100_000 - kept..<100_000), "the newest, in arrival order")
        XCTAssertEqual(s.groups.map(\.count).reduce(0, +), kept, "the tree counts what the list holds")
        XCTAssertLessThanOrEqual(s.anomalyMaps.count, ConsoleState.liveMapsKept)
        XCTAssertEqual(index.sample(99_999)?.path, "/line/0/99999.png")
        XCTAssertEqual(index.sample(100_000 - kept)?.path, "/line/\((100_000 - kept) % 3)/\(100_000 - kept).png")
        XCTAssertNil(index.sample(100_000 - kept - 1), "an image the list dropped is gone from the index too")
        XCTAssertEqual(index.exportSelection(s.rows).samples.count, kept)
        XCTAssertEqual(s.visibleRows.first?.name, "live/line/0/99999.png")
    }

    func testTheChartKeepsTheLastScoresAndOldMapsGo() {
        var s = Self.watching()
        s.live?.chartLength = 3
        for i in 0..<70 {
            _ = s.update(.engine(.watched(Self.record("/line/\(i).png", score: Float(i), verdict: .ok), map: Self.map)))
        }
        XCTAssertEqual(s.live?.recentScores, [67, 68, 69])
        XCTAssertEqual(s.anomalyMaps.count, ConsoleState.liveMapsKept)
        XCTAssertNil(s.anomalyMaps[5])
    }

    func testSortCyclesThroughArrivalWhileWatching() {
        var s = Self.watching()
        _ = s.update(.key(.char("o")))
        XCTAssertEqual(s.sort, .score)
        _ = s.update(.key(.char("o")))
        _ = s.update(.key(.char("o")))
        XCTAssertEqual(s.sort, .arrival)
    }
}
