import Foundation
import XCTest
import ImageIO
@testable import Detection

/// `stpm watch` on the synthetic model: real files, real inotify and polling, real time (settle times
/// are generous next to the writers' pauses so a loaded machine does not change the outcome).
final class WatchSessionTests: XCTestCase {
    var root: String!
    var watched: String { root + "/in" }
    var logFile: String { root + "/watch.jsonl" }

    override func setUpWithError() throws {
        root = SyntheticSet.root + "/watch-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: watched, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: root) }

    /// PNG bytes of a synthetic test image (with a scratch when `defect`).
    func png(_ i: Int, defect: Bool = false) throws -> Data {
        let file = root + "/.png-\(i)-\(defect)"
        try PNGFile.write(SyntheticSet.texture(phase: Float(i) * 0.7 + 3, scratch: defect ? SyntheticSet.scratch(i % 2) : nil), path: file)
        return try Data(contentsOf: URL(fileURLWithPath: file))
    }

    func put(_ name: String, _ data: Data) throws {
        let file = watched + "/" + name
        try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: file))
    }

    func records() throws -> [WatchRecord] {
        guard let text = try? String(contentsOfFile: logFile, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { try JSONDecoder().decode(WatchRecord.self, from: Data($0.utf8)) }
    }

    func options(once: Bool = false, poll: Double? = nil, settle: Double = 0.5) -> WatchOptions {
        var options = WatchOptions(folders: [watched], log: logFile)
        options.once = once
        options.poll = poll
        options.settle = settle
        return options
    }

    func runOnce(_ options: WatchOptions) throws -> [WatchEvent] {
        var events: [WatchEvent] = []
        try WatchSession(model: SyntheticSet.model(), options: options).run(shouldStop: { false }) { events.append($0) }
        return events
    }

    /// Runs a session on another thread while `body` writes files, until `done` holds for the log (or a
    /// minute passes), then for `quiet` seconds more to catch late duplicates, then stops it.
    func runLive(_ session: WatchSession, quiet: Double = 1.5, done: ([WatchRecord]) -> Bool, body: () throws -> Void) throws {
        let run = LiveRun()
        let thread = Thread {
            do { try session.run(shouldStop: { run.stopping }) { _ in } } catch { run.failure = error }
            run.finished.signal()
        }
        thread.stackSize = 8 << 20
        thread.start()
        do {
            try body()
            let deadline = Date().addingTimeInterval(60)
            while !(try done(records())) && Date() < deadline { usleep(50_000) }
            usleep(useconds_t(quiet * 1e6))
        } catch {
            run.stop()
            throw error
        }
        run.stop()
        if let failure = run.failure { throw failure }
    }

    /// Writes `data` in `parts` pieces `pause` seconds apart: kept open (one close at the end) or
    /// reopened for each piece (a close after each), on a thread of its own.
    func writeSlowly(_ name: String, _ data: Data, parts: Int, pause: Double, reopen: Bool) -> DispatchSemaphore {
        let done = DispatchSemaphore(value: 0)
        let file = watched + "/" + name
        Thread {
            let step = (data.count + parts - 1) / parts
            _ = FileManager.default.createFile(atPath: file, contents: nil)
            var handle = try! FileHandle(forWritingTo: URL(fileURLWithPath: file))
            for k in 0..<parts {
                if reopen && k > 0 {
                    handle = try! FileHandle(forWritingTo: URL(fileURLWithPath: file))
                    handle.seekToEndOfFile()
                }
                handle.write(data[(k * step)..<min(data.count, (k + 1) * step)])
                if reopen { try! handle.close() }
                usleep(useconds_t(pause * 1e6))
            }
            if !reopen { try! handle.close() }
            done.signal()
        }.start()
        return done
    }

    func assertEachOnce(_ records: [WatchRecord], _ names: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(records.map(\.path).sorted(), names.map { watched + "/" + $0 }.sorted(), file: file, line: line)
    }

    func testOnceScoresEveryImageOnceJudgesByTheStoredThresholdAndReportsACorruptFileOnce() throws {
        let model = try SyntheticSet.model()
        try put("a.png", png(1))
        try put("sub/b.png", png(2, defect: true))
        try put("bad.png", Data("not a png at all".utf8))
        try put("notes.txt", Data("ignored: not an image name".utf8))
        try put(".hidden.png", png(3))
        let events = try runOnce(options(once: true, settle: 0.05))
        let logged = try records()
        assertEachOnce(logged, ["a.png", "sub/b.png", "bad.png"])
        let threshold = try XCTUnwrap(model.config.threshold)
        var expected: [String: Float] = [:]
        let scored = logged.filter { $0.verdict != .unreadable }.map(\.path)
        try model.scoreFiles(scored) { expected[scored[$0]] = try $1.get().score }
        for record in logged where record.verdict != .unreadable {
            XCTAssertEqual(record.score, expected[record.path], "the score stpm score gives")
            XCTAssertEqual(record.verdict, threshold.flags(record.score!) ? .flagged : .ok)
            XCTAssertEqual(record.threshold, threshold.value)
            XCTAssertEqual(record.size, Int64(try png(record.path.hasSuffix("a.png") ? 1 : 2, defect: record.path.hasSuffix("b.png")).count))
        }
        let bad = try XCTUnwrap(logged.first { $0.path.hasSuffix("bad.png") })
        XCTAssertEqual(bad.verdict, .unreadable)
        XCTAssertTrue(bad.error?.contains("bad.png") == true, "\(bad.error ?? "")")
        XCTAssertEqual(events.filter { if case .unreadable = $0 { true } else { false } }.count, 1)

        // Run again: everything is in the log. A new file, and a file rewritten since, are scored.
        XCTAssertEqual(try runOnce(options(once: true, settle: 0.05)).filter { if case .started(3, _, _) = $0 { true } else { false } }.count, 1)
        XCTAssertEqual(try records().count, 3)
        try put("c.png", png(4))
        try put("a.png", png(5))
        _ = try runOnce(options(once: true, settle: 0.05))
        XCTAssertEqual(try records().count, 5)
        XCTAssertEqual(try records().suffix(2).map { ($0.path as NSString).lastPathComponent }.sorted(), ["a.png", "c.png"])
    }

    func testACrashMidLineNeitherLosesNorRepeatsAnImage() throws {
        for i in 0..<5 { try put("\(i).png", png(i)) }
        _ = try runOnce(options(once: true, settle: 0.05))
        // A power cut after two and a half lines: the log as the disk kept it.
        let text = try Data(contentsOf: URL(fileURLWithPath: logFile))
        let newlines = text.indices.filter { text[$0] == UInt8(ascii: "\n") }
        try text.prefix(newlines[1] + 1 + (newlines[2] - newlines[1]) / 2).write(to: URL(fileURLWithPath: logFile))

        let events = try runOnce(options(once: true, settle: 0.05))
        guard case let .started(logged, _, notes) = events.first else { return XCTFail("\(events)") }
        XCTAssertEqual(logged, 2)
        XCTAssertTrue(notes.first?.contains("incomplete last line") == true, "\(notes)")
        assertEachOnce(try records(), (0..<5).map { "\($0).png" })
    }

    func testSinceLeavesOlderFilesAlone() throws {
        try put("old.png", png(1))
        try put("new.png", png(2))
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -2 * 86400)], ofItemAtPath: watched + "/old.png")
        var o = options(once: true, settle: 0.05)
        o.since = Date(timeIntervalSinceNow: -86400)
        _ = try runOnce(o)
        assertEachOnce(try records(), ["new.png"])
    }

    func testInotifyScoresNewFilesNewFoldersAndSlowWritersOnceAndComplete() throws {
        try put("before.png", png(0))
        let session = try WatchSession(model: SyntheticSet.model(), options: options(settle: 0.6))
        let sizes = try (1...5).map { try png($0) }
        var writers: [DispatchSemaphore] = []
        try runLive(session, done: { $0.count >= 7 }) {
            try put("a.png", sizes[0])
            try put("new/deeper/b.png", sizes[1])
            writers.append(writeSlowly("kept-open.png", sizes[2], parts: 6, pause: 0.08, reopen: false))
            writers.append(writeSlowly("reopened.png", sizes[3], parts: 6, pause: 0.08, reopen: true))
            let outside = root + "/moved.png"
            try sizes[4].write(to: URL(fileURLWithPath: outside))
            XCTAssertEqual(rename(outside, watched + "/moved.png"), 0)
            try put("corrupt.png", Data(repeating: 0x89, count: 300))
            writers.forEach { $0.wait() }
        }
        let logged = try records()
        assertEachOnce(logged, ["before.png", "a.png", "new/deeper/b.png", "kept-open.png", "reopened.png", "moved.png", "corrupt.png"])
        for (name, data) in zip(["kept-open.png", "reopened.png"], sizes[2...3]) {
            let record = try XCTUnwrap(logged.first { $0.path.hasSuffix("/" + name) })
            XCTAssertEqual(record.size, Int64(data.count), "\(name) was scored complete")
            XCTAssertNotEqual(record.verdict, .unreadable, "\(name)")
        }
        XCTAssertEqual(logged.filter { $0.verdict == .unreadable }.map { ($0.path as NSString).lastPathComponent }, ["corrupt.png"])
    }

    func testPollingFindsFilesWhereInotifySeesNothing() throws {
        // The writer keeps the file open and is half done when the first walk sees it; the next walk is
        // long after the settle time, so only re-checking size and mtime keeps the half file from being read.
        let data = try png(7)
        let writer = writeSlowly("slow.png", data, parts: 6, pause: 0.2, reopen: false)
        usleep(100_000)
        let session = try WatchSession(model: SyntheticSet.model(), options: options(poll: 2, settle: 0.6))
        try runLive(session, done: { $0.count >= 2 }) {
            try put("sub/p.png", try png(6))
            writer.wait()
        }
        let logged = try records()
        assertEachOnce(logged, ["sub/p.png", "slow.png"])
        XCTAssertEqual(logged.first { $0.path.hasSuffix("slow.png") }?.size, Int64(data.count))
        XCTAssertNotEqual(logged.first { $0.path.hasSuffix("slow.png") }?.verdict, .unreadable)
    }

    func testFlaggedImagesAreCopiedWithTheirPanelAndTheCommandRunsWithoutStoppingTheWatch() throws {
        var o = options(once: true, settle: 0.05)
        o.flagged = root + "/flagged"
        let calls = root + "/calls.txt"
        o.onFlag = "echo >> \(calls)"
        try put("sub/x.png", png(1))
        try put("y.png", png(2))
        do {
            let session = try WatchSession(model: SyntheticSet.model(), options: o)
            session.threshold = manualThreshold(-1)
            try session.run(shouldStop: { false }) { _ in }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/flagged").sorted(),
                       ["sub_x.png", "sub_x_panel.png", "y.png", "y_panel.png"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: root + "/flagged/y.png")), try png(2))
        XCTAssertEqual(try ImageReader.read(path: root + "/flagged/y_panel.png").width, 3 * 64 + 2 * 4)
        let lines: [String] = try String(contentsOfFile: calls, encoding: .utf8).split(separator: "\n").map(String.init).sorted()
        let logged = try records()
        let expected: [String] = logged.map { "\($0.path) \(formatScore($0.score ?? .nan))" }.sorted()
        XCTAssertEqual(lines, expected)
        XCTAssertTrue(logged.allSatisfy { $0.verdict == .flagged && $0.hook == nil })

        try put("z.png", png(3))
        o.onFlag = "exit 3;"
        let failing = try WatchSession(model: SyntheticSet.model(), options: o)
        failing.threshold = manualThreshold(-1)
        try failing.run(shouldStop: { false }) { _ in }
        XCTAssertEqual(try records().last?.hook, "exit status 3")
    }

    /// `stpm watch` on the watched folder as its own process, once the log holds `lines` lines (or it ended).
    func startWatching(binary: String, model: String, untilLines lines: Int) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["watch", model, watched, "--log", logFile, "--settle", "50"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(120)
        while try records().count < lines && Date() < deadline && process.isRunning { usleep(20_000) }
        return process
    }

    /// The command line: the watcher is stopped (kill -9, or SIGTERM) while it works through a backlog,
    /// more files arrive, and a restart (--once) scores exactly those that are not in the log.
    func stopAndRestart(_ stop: (Process) -> Void) throws -> Process {
        let model = try SyntheticSet.trainedModel()
        let binary = try SyntheticSet.binary()
        for i in 0..<24 { try put(String(format: "%02d.png", i), png(i, defect: i % 4 == 0)) }
        let process = try startWatching(binary: binary, model: model, untilLines: 1)
        stop(process)
        process.waitUntilExit()
        let before = try records().count
        XCTAssertGreaterThanOrEqual(before, 1)
        for i in 24..<27 { try put(String(format: "%02d.png", i), png(i)) }
        let again = try SyntheticSet.stpm(["watch", model, watched, "--log", logFile, "--once", "--settle", "50"])
        XCTAssertEqual(again.status, 0, again.output)
        XCTAssertTrue(again.output.contains("holds \(before) images"), again.output)
        assertEachOnce(try records(), (0..<27).map { String(format: "%02d.png", $0) })
        return process
    }

    func testKilledWatcherRestartsWithoutMissingOrRepeating() throws {
        _ = try stopAndRestart { kill($0.processIdentifier, SIGKILL) }
    }

    func testSigtermFinishesTheBatchInHandAndExitsZero() throws {
        let process = try stopAndRestart { $0.terminate() }
        XCTAssertTrue(process.terminationReason == .exit, "not killed by the signal")
        XCTAssertEqual(process.terminationStatus, 0)
    }
}

/// The stop flag and outcome of a session running on another thread.
final class LiveRun: @unchecked Sendable {
    private let lock = NSLock()
    private var stopRequested = false
    var failure: Error?
    let finished = DispatchSemaphore(value: 0)

    var stopping: Bool { lock.withLock { stopRequested } }

    /// Asks the session to stop and waits until it has.
    func stop() {
        lock.withLock { stopRequested = true }
        finished.wait()
    }
}
