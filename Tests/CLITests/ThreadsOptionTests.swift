import Foundation
import XCTest
import ImageIO

/// `--threads` on the commands that score: one thread keeps stpm on one core (networks, image reading and
/// metrics), and the scores do not depend on the thread count.
final class ThreadsOptionTests: XCTestCase {
    func testOneThreadScoresOnOneCoreAndAsManyThreadsGiveTheSameScores() throws {
        guard ProcessInfo.processInfo.activeProcessorCount > 1 else { throw XCTSkip("needs two cores to tell one from two") }
        let root = NSTemporaryDirectory() + "stpm-threads-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try TinyDataset.write(to: root + "/data")
        // At 256 px the networks, not the process's start, take most of the time of scoring the images below.
        let trained = try StpmBinary.run(["train", root + "/data", "--out", root + "/model", "--size", "256", "--epochs", "1", "--batch", "4"])
        XCTAssertEqual(trained.status, 0, trained.output)
        try FileManager.default.createDirectory(atPath: root + "/images", withIntermediateDirectories: true)
        for i in 0..<300 { try PNGFile.write(TinyDataset.texture(i, defect: i % 7 == 0), path: root + "/images/\(i).png") }

        func score(_ extra: [String], csv: String) throws -> (cpu: Double, wall: Double) {
            let before = childCPUSeconds(), start = Date()
            let run = try StpmBinary.run(["score", root + "/model", root + "/images", "--csv", root + "/" + csv] + extra)
            let wall = Date().timeIntervalSince(start)
            XCTAssertEqual(run.status, 0, run.output)
            return (childCPUSeconds() - before, wall)
        }
        let one = try score(["--threads", "1"], csv: "one.csv")
        let two = try score(["--threads", "2"], csv: "two.csv")
        XCTAssertLessThan(one.cpu, 1.15 * one.wall + 0.05,
                          "--threads 1 used \(one.cpu) s of CPU in \(one.wall) s (--threads 2: \(two.cpu) s in \(two.wall) s)")
        XCTAssertEqual(try String(contentsOfFile: root + "/one.csv", encoding: .utf8),
                       try String(contentsOfFile: root + "/two.csv", encoding: .utf8), "scores depend on the thread count")

        let evalOne = try StpmBinary.run(["eval", root + "/model", root + "/data", "--threads", "1", "--json", root + "/one.json"])
        let evalTwo = try StpmBinary.run(["eval", root + "/model", root + "/data", "--threads", "2", "--json", root + "/two.json"])
        XCTAssertEqual(evalOne.status, 0, evalOne.output)
        XCTAssertEqual(evalTwo.status, 0, evalTwo.output)
        XCTAssertEqual(try withoutSeconds(root + "/one.json"), try withoutSeconds(root + "/two.json"))
    }

    func testAThreadCountBelowOneIsRefusedByName() throws {
        for command in [["score", "m", "images"], ["eval", "m", "data"], ["watch", "m", "dir"], ["threshold", "m", "--value", "1"],
                        ["compare", "a", "b", "data"], ["train", "data", "--out", "m"]] {
            let run = try StpmBinary.run(command + ["--threads", "0"])
            XCTAssertNotEqual(run.status, 0, "\(command): \(run.output)")
            XCTAssertTrue(run.output.contains("--threads must be at least 1"), "\(command): \(run.output)")
        }
    }

    /// User and system seconds of this process's finished children (StpmBinary waits for each).
    private func childCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_CHILDREN.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    private func withoutSeconds(_ path: String) throws -> NSDictionary {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        return object.filter { $0.key != "seconds" } as NSDictionary
    }
}
