import Foundation
import XCTest
@testable import ImageIO
import CPNG
import TestSupport

final class PNGWriteTests: XCTestCase {
    private func pattern(_ width: Int, _ height: Int, _ channels: Int) -> Image8 {
        Image8(width: width, height: height, channels: channels,
               pixels: (0..<(width * height * channels)).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ $0 / 7) })
    }

    func testGrayRoundTrip() throws {
        let dir = try TemporaryDirectory()
        let image = pattern(13, 7, 1)
        try PNGFile.write(image, path: dir.file("gray.png"))
        XCTAssertEqual(try ImageReader.read(path: dir.file("gray.png"), as: .gray), image)
        XCTAssertEqual(try ImageReader.read(path: dir.file("gray.png"), as: .rgb), image.toRGB())
    }

    func testRGBRoundTrip() throws {
        let dir = try TemporaryDirectory()
        let image = pattern(31, 17, 3)
        try PNGFile.write(image, path: dir.file("rgb.png"))
        XCTAssertEqual(try ImageReader.read(path: dir.file("rgb.png"), as: .rgb), image)
    }

    func testGray16RoundTripThroughLibpng() throws {
        let dir = try TemporaryDirectory()
        let values: [UInt16] = [0, 1, 255, 256, 1000, 32767, 32768, 65534, 65535, 4242, 12345, 54321]
        let path = dir.file("map16.png")
        try PNGFile.writeGray16(values: values, width: 4, height: 3, path: path)
        let map = try PNGFile.readGray16(path: path)
        XCTAssertEqual(map.values, values)
        XCTAssertEqual([map.width, map.height], [4, 3])
        // The 8-bit view keeps the high byte (deliberately not Pillow's clip of 'I;16').
        XCTAssertEqual(try ImageReader.read(path: path, as: .gray).pixels, values.map { UInt8($0 >> 8) })
    }

    func testReadGray16RefusesOtherLayouts() throws {
        let dir = try TemporaryDirectory()
        try PNGFile.write(pattern(3, 3, 1), path: dir.file("gray8.png"))
        XCTAssertThrowsError(try PNGFile.readGray16(path: dir.file("gray8.png")))
    }

    /// The atomic writer hands libpng a descriptor; the bytes must be those libpng writes to a path itself.
    func testBytesEqualLibpngsOwnFileWriter() throws {
        let dir = try TemporaryDirectory()
        for image in [pattern(17, 9, 1), pattern(17, 9, 3)] {
            let ours = dir.file("ours.png"), direct = dir.file("direct.png")
            try PNGFile.write(image, path: ours)
            var png = png_image()
            png.version = stpm_png_image_version()
            png.width = UInt32(image.width)
            png.height = UInt32(image.height)
            png.format = image.channels == 3 ? stpm_png_format_rgb() : stpm_png_format_gray()
            XCTAssertNotEqual(image.pixels.withUnsafeBytes { png_image_write_to_file(&png, direct, 0, $0.baseAddress, 0, nil) }, 0)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: ours)), try Data(contentsOf: URL(fileURLWithPath: direct)))
        }
    }

    func testOverwriteReplacesAndLeavesNoTemporaryFiles() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("out.png")
        try PNGFile.write(pattern(4, 4, 3), path: path)
        try PNGFile.write(pattern(5, 2, 1), path: path)
        XCTAssertEqual(try ImageReader.read(path: path, as: .gray), pattern(5, 2, 1))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["out.png"])
    }

    func testUnwritableDestinationIsAnError() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("missing-directory/out.png")
        XCTAssertThrowsError(try PNGFile.write(pattern(2, 2, 1), path: path)) { error in
            let error = error as! ImageIOError
            XCTAssertEqual(error.path, path)
            XCTAssertTrue(error.message.contains("No such file"), error.message)
        }
        XCTAssertThrowsError(try PNGFile.writeGray16(values: [1, 2], width: 2, height: 1, path: path))
    }

    /// A folder in the target's place is refused naming it, and nothing is left beside it (a rename that
    /// fails midway is AtomicFileTests').
    func testFolderTargetIsAnErrorAndLeavesNothing() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("occupied")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        XCTAssertThrowsError(try PNGFile.write(pattern(2, 2, 3), path: path)) { error in
            XCTAssertTrue((error as! ImageIOError).message.contains("it is a folder"), "\(error)")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["occupied"])
    }
}

final class PNGEncodingTests: XCTestCase {
    func testEncodedBytesReadBackAsTheImage() throws {
        let image = Image8(width: 5, height: 3, channels: 3, pixels: (0..<45).map { UInt8($0 * 5) })
        let bytes = try PNGFile.encode(image)
        XCTAssertEqual(Array(bytes.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        XCTAssertEqual(try ImageReader.decode(bytes, path: "(memory)", as: .rgb), image)
        XCTAssertThrowsError(try PNGFile.encode(Image8(width: 0, height: 3, channels: 3, pixels: [])))
    }
}
