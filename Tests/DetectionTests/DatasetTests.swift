import Foundation
import XCTest
@testable import Detection
import TestSupport

final class DatasetTests: XCTestCase {
    var temporary: TemporaryDirectory!
    var root: URL { temporary.url }

    override func setUpWithError() throws { temporary = try TemporaryDirectory("stpm-dataset") }

    override func tearDown() { temporary = nil }

    /// Creates empty files (the scan never decodes them) and their folders.
    func touch(_ paths: String...) throws {
        for path in paths {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: url.path, contents: Data())
        }
    }

    func relative(_ path: String) -> String {
        String(path.dropFirst(root.path.count + 1))
    }

    func testScansMVTecLayoutSorted() throws {
        try touch("train/good/b.png", "train/good/a.PNG", "train/good/notes.txt", "train/good/.hidden.png",
                  "test/good/000.png",
                  "test/scratch/001.png", "test/scratch/000.png", "ground_truth/scratch/000_mask.png", "ground_truth/scratch/001_mask.png",
                  "test/crack/000.png", "ground_truth/crack/000_mask.png")
        let dataset = try MVTecDataset(root: root.path)
        XCTAssertEqual(dataset.train.map { relative($0.path) }, ["train/good/a.PNG", "train/good/b.png"])
        XCTAssertTrue(dataset.train.allSatisfy { $0.split == .train && $0.defectType == "good" && $0.maskPath == nil })
        XCTAssertEqual(dataset.test.map { relative($0.path) },
                       ["test/crack/000.png", "test/good/000.png", "test/scratch/000.png", "test/scratch/001.png"])
        XCTAssertEqual(dataset.test.map(\.defectType), ["crack", "good", "scratch", "scratch"])
        XCTAssertEqual(dataset.test.map { $0.maskPath.map(relative) },
                       ["ground_truth/crack/000_mask.png", nil, "ground_truth/scratch/000_mask.png", "ground_truth/scratch/001_mask.png"])
        XCTAssertEqual(dataset.types, ["crack", "good", "scratch"])
        XCTAssertEqual(dataset.problems, [])
    }

    func testImagesAndMasksOfOtherFormatsMatchByStem() throws {
        try touch("train/good/a.jpg", "train/good/b.TIF", "train/good/c.bmp", "train/good/d.gif",
                  "test/crack/000.jpeg", "ground_truth/crack/000_mask.png", "test/crack/001.tiff", "ground_truth/crack/001_mask.bmp")
        let dataset = try MVTecDataset(root: root.path)
        XCTAssertEqual(dataset.train.map { relative($0.path) }, ["train/good/a.jpg", "train/good/b.TIF", "train/good/c.bmp"])
        XCTAssertEqual(dataset.test.map { $0.maskPath.map(relative) }, ["ground_truth/crack/000_mask.png", "ground_truth/crack/001_mask.bmp"])
        XCTAssertEqual(dataset.problems, [])
    }

    func testMissingAndOrphanMasksAreReported() throws {
        try touch("train/good/a.png", "test/hole/000.png", "test/hole/001.png", "ground_truth/hole/001_mask.png",
                  "ground_truth/hole/007_mask.png", "ground_truth/stain/000_mask.png")
        let dataset = try MVTecDataset(root: root.path)
        // The defective image without a mask stays in the test set.
        XCTAssertEqual(dataset.test.count, 2)
        XCTAssertNil(dataset.test[0].maskPath)
        XCTAssertEqual(dataset.test[0].defectType, "hole")
        XCTAssertEqual(dataset.problems, [
            "1 of 2 defective images have no mask: they count in image AUROC only, not in the pixel metrics",
            "ground_truth/hole/007_mask.png has no test image",
            "ground_truth/stain has no matching test/stain folder",
        ])
    }

    func testTrainOnlyDatasetScansWithAProblem() throws {
        try touch("train/good/a.png")
        let dataset = try MVTecDataset(root: root.path)
        XCTAssertEqual(dataset.train.count, 1)
        XCTAssertEqual(dataset.test, [])
        XCTAssertEqual(dataset.problems.count, 1)
    }

    func testAPlainFolderIsAllNormalTrainingImages() throws {
        try touch("a.png", "day1/b.png", "day1/notes.txt", ".cache/c.png")
        let dataset = try MVTecDataset(root: root.path)
        XCTAssertEqual(dataset.train.map { relative($0.path) }, ["a.png", "day1/b.png"])
        XCTAssertTrue(dataset.train.allSatisfy { $0.defectType == "good" && $0.split == .train })
        XCTAssertEqual(dataset.test, [])
    }

    func testABrokenMVTecLayoutIsNotMistakenForAPlainFolder() throws {
        try touch("test/cut/000.png", "test/good/000.png")
        XCTAssertThrowsError(try MVTecDataset(root: root.path)) { XCTAssertEqual($0 as? DatasetError, .noTrainGood(self.root.path)) }
    }

    func testFolderSpecLabelsByFolderAndMatchesMasksByStem() throws {
        try touch("ok/1.png", "ok/2.png", "ng/crack/a.png", "ng/crack/b.png", "ng/c.png",
                  "gt/a_mask.png", "gt/sub/c.png", "gt/zzz_mask.png")
        let p = root.path
        let dataset = try MVTecDataset(normal: p + "/ok", abnormal: p + "/ng", masks: p + "/gt")
        XCTAssertEqual(dataset.train, [])
        XCTAssertEqual(dataset.test.map { relative($0.path) }, ["ok/1.png", "ok/2.png", "ng/c.png", "ng/crack/a.png", "ng/crack/b.png"])
        XCTAssertEqual(dataset.test.map(\.defectType), ["good", "good", "ng", "crack", "crack"])
        XCTAssertEqual(dataset.test.map { $0.maskPath.map(relative) }, [nil, nil, "gt/sub/c.png", "gt/a_mask.png", nil])
        XCTAssertEqual(dataset.problems, [
            "1 of 3 defective images have no mask: they count in image AUROC only, not in the pixel metrics",
            "1 masks match no abnormal image (by file stem), e.g. \(p)/gt/zzz_mask.png",
        ])
    }

    func testDefectiveImagesWithoutAnyMaskGiveOneLine() throws {
        try touch("ok/1.png", "ng/a.png", "ng/b.png", "ng/c.png")
        let dataset = try MVTecDataset(normal: root.path + "/ok", abnormal: root.path + "/ng", masks: nil)
        XCTAssertEqual(dataset.problems, ["3 defective images have no mask: pixel metrics skipped"])
    }

    func testClearErrors() throws {
        let missing = root.appendingPathComponent("nope").path
        XCTAssertThrowsError(try MVTecDataset(root: missing)) { XCTAssertEqual($0 as? DatasetError, .rootMissing(missing)) }
        XCTAssertThrowsError(try MVTecDataset(root: root.path)) { XCTAssertEqual($0 as? DatasetError, .noTrainGood(root.path)) }
        try touch("train/good/readme.txt")
        XCTAssertThrowsError(try MVTecDataset(root: root.path)) {
            XCTAssertEqual($0 as? DatasetError, .noTrainImages(self.root.path + "/train/good"))
            XCTAssertTrue("\($0)".contains("no images (.bmp .jpeg .jpg .png .tif .tiff)"), "\($0)")
        }
    }

    func testImageFolderScanIsRecursiveAndSorted() throws {
        try touch("imgs/b.png", "imgs/sub/a.Png", "imgs/sub/deeper/c.png", "imgs/e.JPG", "imgs/f.jpeg", "imgs/g.tif",
                  "imgs/h.TIFF", "imgs/i.bmp", "imgs/skip.txt", "imgs/skip.gif", "imgs/.cache/d.png", "single.raw")
        let folder = root.appendingPathComponent("imgs").path
        // A file named on the command line is taken whatever its name: the reader decides by content.
        let single = root.appendingPathComponent("single.raw").path
        let found = try scanImageFolder(paths: [single, folder, folder + "/b.png"])
        XCTAssertEqual(found.map(relative), ["imgs/b.png", "imgs/e.JPG", "imgs/f.jpeg", "imgs/g.tif", "imgs/h.TIFF", "imgs/i.bmp",
                                             "imgs/sub/a.Png", "imgs/sub/deeper/c.png", "single.raw"])
    }

    func testImageFolderErrors() throws {
        try touch("empty/readme.txt")
        let missing = root.appendingPathComponent("missing").path
        XCTAssertThrowsError(try scanImageFolder(paths: [missing])) { XCTAssertEqual($0 as? DatasetError, .pathMissing(missing)) }
        let empty = root.appendingPathComponent("empty").path
        XCTAssertThrowsError(try scanImageFolder(paths: [empty])) { XCTAssertEqual($0 as? DatasetError, .noImages([empty])) }
    }
}

/// The datasets shipped beside the repository; counts taken with `find DATA/<split>/<type> -iname '*.png' | wc -l`.
final class SharedDatasetTests: XCTestCase {
    func check(_ name: String, train: Int, test: [String: Int]) throws {
        let dataset = try MVTecDataset(root: try SharedData.require("datasets", name).path)
        XCTAssertEqual(dataset.train.count, train)
        XCTAssertEqual(Dictionary(grouping: dataset.test, by: \.defectType).mapValues(\.count), test)
        XCTAssertEqual(dataset.types, test.keys.sorted())
        XCTAssertEqual(dataset.problems, [])
        for sample in dataset.test {
            XCTAssertEqual(sample.maskPath == nil, sample.defectType == "good", sample.path)
            if let mask = sample.maskPath { XCTAssertTrue(FileManager.default.fileExists(atPath: mask), mask) }
        }
    }

    func testTire() throws {
        try check("tire", train: 239, test: ["good": 25, "combined": 5, "contamination": 28, "cut": 27, "hole": 27])
    }

    func testMagneticTile() throws {
        try check("magnetic_tile", train: 400,
                  test: ["good": 200, "blowhole": 115, "break": 85, "crack": 57, "fray": 32, "uneven": 99])
    }
}
