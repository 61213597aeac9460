import XCTest
import Crypto
import Foundation
@testable import Numerics
import TestSupport

final class SHA256Tests: XCTestCase {
    func testKnownVectors() {
        XCTAssertEqual(SHA256.hex(of: Data()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(of: Data("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(of: Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    func testIncrementalUpdatesEqualOneShot() {
        let data = Data((0..<1000).map { UInt8(truncatingIfNeeded: $0 * 7) })
        var h = SHA256()
        for piece in stride(from: 0, to: 1000, by: 37) { h.update(data: data[piece..<min(piece + 37, 1000)]) }
        XCTAssertEqual(h.finalize().hex, SHA256.hex(of: data))
    }

    func testFileDigestMatchesSha256sum() throws {
        let dir = try TemporaryDirectory("stpm-sha")
        let path = dir.file("data")
        // 3 MiB, more than one read buffer: byte i is 3i mod 256.
        let data = Data((0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 3) })
        try data.write(to: URL(fileURLWithPath: path))
        // sha256sum of: python3 -c 'import sys; sys.stdout.buffer.write(bytes(3 * i % 256 for i in range(3 << 20)))'
        XCTAssertEqual(try SHA256.hex(ofFile: path), "3305c08a9638da1e80e919424484e4297ccb3bd710167dbbfd2dc90dccf61054")
    }

    /// The loading hashes the weights from the mapping it parses (`MappedFile`): the same digest as reading the
    /// file, at sizes around SHA-256's 64-byte blocks and pages, empty included.
    func testMappedFileDigestEqualsTheReadFilesDigest() throws {
        let dir = try TemporaryDirectory("stpm-sha-mapped")
        for size in [0, 1, 55, 63, 64, 65, 4095, 4096, 4097, (1 << 20) + 13] {
            let path = dir.file("data\(size)")
            try Data((0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 9) }).write(to: URL(fileURLWithPath: path))
            XCTAssertEqual(try MappedFile(path: path).sha256Hex(), try SHA256.hex(ofFile: path), "\(size) bytes")
        }
        let path = dir.file("sha256sum")
        try Data((0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 3) }).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try MappedFile(path: path).sha256Hex(), "3305c08a9638da1e80e919424484e4297ccb3bd710167dbbfd2dc90dccf61054")
        // What cannot be mapped is refused by name.
        XCTAssertThrowsError(try MappedFile(path: dir.path)) { XCTAssertTrue("\($0)".contains(dir.path) && "\($0)".contains("not a regular file"), "\($0)") }
        XCTAssertThrowsError(try MappedFile(path: dir.file("gone"))) { XCTAssertTrue("\($0)".contains(dir.file("gone")), "\($0)") }
    }
}
