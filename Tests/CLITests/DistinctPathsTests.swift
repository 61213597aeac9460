import Foundation
import XCTest
import ImageIO

/// Distinct files stay distinct through `stpm score`: names are compared as file-system bytes (NFC and
/// NFD "café.png" are two files), and every output name is unique per input, even where the flattened
/// names meet ("a/b.png" and "a_b.png", and a real "a_b-2.png" beside them).
final class DistinctPathsTests: XCTestCase {
    func testEveryFileIsScoredAndGetsItsOwnOutputs() throws {
        let root = NSTemporaryDirectory() + "stpm-paths-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try TinyDataset.write(to: root + "/data")
        let trained = try StpmBinary.run(["train", root + "/data", "--out", root + "/model", "--size", "32", "--epochs", "1", "--batch", "4"])
        XCTAssertEqual(trained.status, 0, trained.output)

        let images = root + "/images"
        let names = ["caf\u{E9}.png", "cafe\u{301}.png", "a/b.png", "a_b.png", "a_b-2.png", "A_b.png"]
        for (i, name) in names.enumerated() {
            try FileManager.default.createDirectory(atPath: ((images + "/" + name) as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try PNGFile.write(TinyDataset.texture(i), path: images + "/" + name)
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: images).count, names.count, "the file system kept both cafés")

        let scored = try StpmBinary.run(["score", root + "/model", images, "--maps", root + "/maps", "--csv", root + "/s.csv"])
        XCTAssertEqual(scored.status, 0, scored.output)
        let lines = scored.output.split(separator: "\n").filter { $0.contains(images) }
        XCTAssertEqual(lines.count, names.count, scored.output)
        let written = try FileManager.default.contentsOfDirectory(atPath: root + "/maps")
        XCTAssertEqual(Set(written.map { Array($0.utf8) }).count, 2 * names.count, "\(written)")
    }
}
