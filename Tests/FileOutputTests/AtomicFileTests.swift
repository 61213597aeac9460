import XCTest
import TestSupport
@testable import FileOutput

final class AtomicFileTests: XCTestCase {
    func testReplacesTheTargetAndLeavesNoTemporary() throws {
        let dir = try TemporaryDirectory()
        let target = dir.file("out.bin")
        try AtomicFile.write(Array("old".utf8), to: target)
        let content = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try AtomicFile.write(content, to: target)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: target)), Data(content))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["out.bin"])
    }

    func testMissingFolderThrowsNamingThePath() throws {
        let dir = try TemporaryDirectory()
        let target = dir.file("absent/out.bin")
        XCTAssertThrowsError(try AtomicFile.write([1, 2, 3], to: target)) { error in
            guard let error = error as? FileOutputError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.path, target)
            XCTAssertTrue(error.description.contains(target), error.description)
        }
    }

    /// A folder (existing, or named with a trailing slash) or an empty name is refused in words before
    /// anything is created, rather than with rename(2)'s "Device or resource busy".
    func testFolderOrEmptyTargetIsRefusedInWords() throws {
        let dir = try TemporaryDirectory()
        for target in [dir.path, dir.file("new/"), dir.path + "/.", ""] {
            XCTAssertThrowsError(try AtomicFile.write([1], to: target), target) { error in
                let text = "\(error)"
                XCTAssertTrue(text.contains("it is a folder") || text.contains("the file name is empty"), text)
            }
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), [])
    }

    /// A body that fails midway leaves the previous file as it was and no temporary behind.
    func testFailedWriteKeepsTheOldFile() throws {
        let dir = try TemporaryDirectory()
        let target = dir.file("model.safetensors")
        try AtomicFile.write(Array("previous".utf8), to: target)
        struct Interrupted: Error {}
        XCTAssertThrowsError(try AtomicFile.write(to: target) { fd in
            try [UInt8](repeating: 7, count: 1000).withUnsafeBytes { try AtomicFile.writeAll(fd, $0, path: target) }
            throw Interrupted()
        }) { XCTAssertTrue($0 is Interrupted, "\($0)") }
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "previous")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["model.safetensors"])
    }

    /// A rename that fails (a non-empty folder took the target's name while the content was written)
    /// throws naming the path, keeps what was there and removes the temporary.
    func testFailedRenameKeepsTheTargetAndRemovesTheTemporary() throws {
        let dir = try TemporaryDirectory()
        let target = dir.file("report.json")
        XCTAssertThrowsError(try AtomicFile.write(to: target) { fd in
            try Array("{}".utf8).withUnsafeBytes { try AtomicFile.writeAll(fd, $0, path: target) }
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: false)
            try AtomicFile.write(Array("kept".utf8), to: target + "/inside")
        }) { error in
            XCTAssertTrue("\(error)".contains("into place"), "\(error)")
            XCTAssertEqual((error as? FileOutputError)?.path, target, "\(error)")
        }
        XCTAssertEqual(try String(contentsOfFile: target + "/inside", encoding: .utf8), "kept")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["report.json"])
    }

    /// The temporary is written beside the target under a name the stale-temporary cleanup recognises,
    /// also for a bare one-character file name in the working directory.
    func testTemporaryBesideTheTargetWithTheCleanupsName() throws {
        let dir = try TemporaryDirectory()
        let previous = FileManager.default.currentDirectoryPath
        FileManager.default.changeCurrentDirectoryPath(dir.path)
        defer { FileManager.default.changeCurrentDirectoryPath(previous) }
        var seen: [String] = []
        try AtomicFile.write(to: "D") { _ in seen = try FileManager.default.contentsOfDirectory(atPath: ".") }
        XCTAssertEqual(seen.count, 1)
        let name = try XCTUnwrap(seen.first)
        XCTAssertTrue(name.hasPrefix(".D.\(getpid())."), name)
        XCTAssertTrue(name.hasSuffix(".tmp"), name)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.file("D")))
    }

    func testFileName() {
        XCTAssertEqual(AtomicFile.fileName(of: "D"), "D")
        XCTAssertEqual(AtomicFile.fileName(of: "a/b.png"), "b.png")
        XCTAssertEqual(AtomicFile.fileName(of: "/m/caf\u{E9}.json"), "caf\u{E9}.json")
    }
}
