import Foundation
import XCTest
@testable import ImageIO
import TestSupport

/// `readWholeFile`: a regular file read into an array of its size, a file stat gives no size for read on
/// in chunks, and the byte limit refusing a longer file with its message.
final class FileBytesTests: XCTestCase {
    func testReadsEveryByteOfFilesOfEverySizeAndOfFilesWithoutASize() throws {
        let dir = try TemporaryDirectory()
        var rng = SystemRandomNumberGenerator()
        for count in [0, 1, 4095, 65536, 65537, 200_001] {
            let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let path = dir.file("f\(count)")
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            XCTAssertTrue(try readWholeFile(path) == bytes, "\(count) bytes")
            XCTAssertTrue(try readWholeFile(path, limit: count) == bytes, "\(count) bytes at a limit of as many")
            if count > 0 {
                XCTAssertThrowsError(try readWholeFile(path, limit: count - 1)) { error in
                    XCTAssertTrue("\(error)".contains("f\(count): file is larger than \(count - 1) bytes"), "\(error)")
                }
            }
        }
        // procfs reports size 0 for a file that has content: it is read in chunks to its end.
        let status = try readWholeFile("/proc/self/status")
        XCTAssertTrue(String(decoding: status, as: UTF8.self).contains("VmRSS"))
        XCTAssertThrowsError(try readWholeFile("/proc/self/status", limit: 10)) { error in
            XCTAssertTrue("\(error)".contains("file is larger than 10 bytes"), "\(error)")
        }
    }
}
