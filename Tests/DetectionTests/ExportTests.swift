import Foundation
import XCTest
import ImageIO
@testable import Detection

final class ExportTests: XCTestCase {
    var out: String!

    override func setUpWithError() throws {
        out = SyntheticSet.root + "/export-\(UUID().uuidString)"
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: out)
    }

    func export(_ rule: ThresholdRule, manualFlags: Set<String> = [], force: Bool = false) throws -> ExportSummary {
        try Inspection(model: SyntheticSet.model()).export(MVTecDataset(root: SyntheticSet.data).test, threshold: rule,
                                                           manualFlags: manualFlags, to: out, force: force)
    }

    func testWritesPanelsAndMasksForFlaggedImagesAndReportsForAll() throws {
        // Below every score: all four images are flagged.
        let summary = try export(.value(-1))
        XCTAssertEqual(summary.images, 4)
        XCTAssertEqual(summary.flagged, 4)
        XCTAssertEqual(summary.filesWritten, 4 * 2 + 2)
        let panel = try ImageReader.read(path: out + "/scratch_001_panel.png")
        XCTAssertEqual([panel.width, panel.height], [3 * 64 + 2 * 4, 64])
        let mask = try ImageReader.read(path: out + "/good_000_mask.png", as: .gray)
        XCTAssertTrue(mask.pixels.allSatisfy { $0 == 255 }, "threshold below the whole map marks every pixel")

        let csv = try String(contentsOfFile: out + "/report.csv", encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.first, "path,type,score,flagged,threshold,defective,over_threshold,manual_flag")
        XCTAssertEqual(csv.count, 5)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/report.json"))) as? [String: Any]
        let images = json?["images"] as? [[String: Any]]
        XCTAssertEqual(images?.count, 4)
        XCTAssertEqual(images?.map { $0["type"] as? String }, ["good", "good", "scratch", "scratch"])
        XCTAssertEqual(images?.map { $0["defective"] as? Bool }, [false, false, true, true])
    }

    func testOnlyFlaggedImagesGetPictures() throws {
        let summary = try export(.value(.greatestFiniteMagnitude))
        XCTAssertEqual(summary.flagged, 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out).sorted(), ["report.csv", "report.json"])
    }

    func testRefusesNonEmptyFolderWithoutForce() throws {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: out + "/notes.txt"))
        XCTAssertThrowsError(try export(.f1)) { error in
            guard case ExportError.notEmpty(let dir) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(dir, self.out)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), ["notes.txt"])
        let summary = try export(.f1, force: true)
        XCTAssertEqual(summary.threshold.choice, .f1)
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/notes.txt"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/report.json"))
    }

    /// What `kill -9` during an export leaves (Tests/e2e/kill.sh): a temporary of a dead writer, which the
    /// next export removes, without --force too.
    func testKilledExportsTemporariesGo() throws {
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let stale = out + "/.good_000_mask.png.99999999.12345.tmp"
        FileManager.default.createFile(atPath: stale, contents: Data("half".utf8))
        _ = try export(.value(-1))
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale))
        XCTAssertTrue(FileManager.default.fileExists(atPath: out + "/report.json"))
    }

    func testWriteFailureNamesTheFileAndLeavesNoPartialFile() throws {
        // A folder where report.csv should go makes the final rename fail, like a full disk would fail the write.
        try FileManager.default.createDirectory(atPath: out + "/report.csv/occupied", withIntermediateDirectories: true)
        XCTAssertThrowsError(try export(.value(.greatestFiniteMagnitude), force: true)) { error in
            guard case ExportError.writeFailed(let file, _, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(file, self.out + "/report.csv")
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: out)
        XCTAssertEqual(left, ["report.csv"], "no temporary file and no report.json after the failure")
    }

    func testFileStemsAreUniqueAndReadable() {
        XCTAssertEqual(reportFileStems(for: ["d/test/cut/000.png", "d/test/good/000.png"]), ["cut_000", "good_000"])
        XCTAssertEqual(reportFileStems(for: ["../x/a.png", "/tmp/b.PNG"]), ["x_a", "tmp_b"])
        XCTAssertEqual(reportFileStems(for: ["a/b_c.png", "a/b/c.png"]), ["b_c", "b_c-2"])
        XCTAssertEqual(reportFileStems(for: ["a/b.jpg", "a/c.TIFF", "a/d.bmp", "a/e.tar.gz"]), ["b", "c", "d", "e.tar.gz"])
        XCTAssertEqual(reportFileStems(for: ["only/one.png"]), ["one"])
    }
}
