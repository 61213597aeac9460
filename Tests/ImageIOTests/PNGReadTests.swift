import Foundation
import XCTest
@testable import ImageIO
import TestSupport

final class PNGReadTests: XCTestCase {
    private func read(_ base64: String, as format: PixelFormat) throws -> Image8 {
        let dir = try TemporaryDirectory()
        return try ImageReader.read(path: try dir.write(base64: base64, to: "fixture.png"), as: format)
    }

    func testRGBADropsAlphaWithoutCompositing() throws {
        let rgb = try read(PNGFixtures.rgba8, as: .rgb)
        XCTAssertEqual([rgb.width, rgb.height, rgb.channels], [3, 2, 3])
        XCTAssertEqual(rgb.pixels, PNGFixtures.rgba8RGB)
        XCTAssertEqual(try read(PNGFixtures.rgba8, as: .gray).pixels, PNGFixtures.rgba8Gray)
    }

    func testGrayAlpha() throws {
        let gray = try read(PNGFixtures.grayAlpha8, as: .gray)
        XCTAssertEqual(gray.channels, 1)
        XCTAssertEqual(gray.pixels, PNGFixtures.grayAlpha8Gray)
        XCTAssertEqual(try read(PNGFixtures.grayAlpha8, as: .rgb).pixels, PNGFixtures.grayAlpha8Gray.flatMap { [$0, $0, $0] })
    }

    func testPaletteExpandsToColoursIgnoringTransparency() throws {
        XCTAssertEqual(try read(PNGFixtures.palette, as: .rgb).pixels, PNGFixtures.paletteRGB)
        XCTAssertEqual(try read(PNGFixtures.palette, as: .gray).pixels, PNGFixtures.paletteGray)
    }

    func testSixteenBitKeepsTheHighByte() throws {
        XCTAssertEqual(try read(PNGFixtures.gray16, as: .gray).pixels, PNGFixtures.gray16Gray)
        XCTAssertEqual(try read(PNGFixtures.rgb16, as: .rgb).pixels, PNGFixtures.rgb16RGB)
    }

    func testSixteenBitAlphaIsExactWhereOpaqueAndWithinOneElsewhere() throws {
        // libpng hands 16-bit alpha images over premultiplied; undoing that cannot always recover the high byte.
        let pixels = try read(PNGFixtures.rgba16, as: .rgb).pixels
        XCTAssertEqual(Array(pixels[0..<3]), Array(PNGFixtures.rgba16RGB[0..<3]))
        for (mine, pillow) in zip(pixels[3...], PNGFixtures.rgba16RGB[3...]) {
            XCTAssertLessThanOrEqual(abs(Int(mine) - Int(pillow)), 1)
        }
    }

    func testGammaChunkIsIgnored() throws {
        XCTAssertEqual(try read(PNGFixtures.gray8Gamma1, as: .gray).pixels, PNGFixtures.gray8Gamma1Gray)
    }

    func testLowBitDepthsScaleToFullRange() throws {
        XCTAssertEqual(try read(PNGFixtures.gray1, as: .gray).pixels, PNGFixtures.gray1Gray)
        XCTAssertEqual(try read(PNGFixtures.gray2, as: .gray).pixels, PNGFixtures.gray2Gray)
    }

    func testMissingFileIsAnError() throws {
        let path = try TemporaryDirectory().file("absent.png")
        XCTAssertThrowsError(try ImageReader.read(path: path)) { error in
            let message = String(describing: error)
            XCTAssertTrue(message.contains(path), message)
            XCTAssertTrue(message.contains("No such file"), message)
        }
    }

    func testGarbageAfterTheSignatureIsAnErrorCarryingLibpngsMessage() throws {
        let dir = try TemporaryDirectory()
        let path = dir.file("garbage.png")
        try Data(PNGChunks.signature + Array("this is not a PNG file at all".utf8)).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try ImageReader.read(path: path)) { error in
            let error = error as! ImageIOError
            XCTAssertEqual(error.path, path)
            XCTAssertTrue(error.message.hasPrefix("libpng: "), error.message)
            XCTAssertTrue(error.description.contains(path))
        }
    }

    func testTruncatedFileIsAnError() throws {
        let dir = try TemporaryDirectory()
        let whole = Data(base64Encoded: PNGFixtures.rgba8)!
        for length in [8, 20, 40, whole.count - 13] {
            let path = dir.file("truncated\(length).png")
            try whole.prefix(length).write(to: URL(fileURLWithPath: path))
            XCTAssertThrowsError(try ImageReader.read(path: path), "truncated to \(length) bytes") { error in
                XCTAssertTrue((error as! ImageIOError).message.hasPrefix("libpng: "), "\(error)")
            }
        }
    }

    func testCorruptPixelDataIsAnError() throws {
        let dir = try TemporaryDirectory()
        var bytes = [UInt8](Data(base64Encoded: PNGFixtures.rgba8)!)
        let idat = bytes.firstRange(of: Array("IDAT".utf8))!.upperBound
        for i in idat..<(idat + 10) { bytes[i] ^= 0x5A }
        let path = dir.file("corrupt.png")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try ImageReader.read(path: path))
    }

    func testOversizedHeaderIsRefusedBeforeAllocating() throws {
        // A valid header declaring 40000x40000 followed by an empty IDAT: libpng accepts the header (its own
        // limit is 1,000,000 per side), so only our bound stops a 4.8 GB allocation.
        let ihdr = chunk("IHDR", [0, 0, 0x9C, 0x40, 0, 0, 0x9C, 0x40, 8, 2, 0, 0, 0])
        let dir = try TemporaryDirectory()
        let path = dir.file("huge.png")
        try Data(PNGChunks.signature + ihdr + chunk("IDAT", []) + chunk("IEND", [])).write(to: URL(fileURLWithPath: path))
        XCTAssertThrowsError(try ImageReader.read(path: path)) { error in
            XCTAssertTrue((error as! ImageIOError).message.contains("40000x40000"), "\(error)")
        }
    }

    private func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        let crc = crc32(body)
        return bigEndian(UInt32(data.count)) + body + bigEndian(crc)
    }

    private func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

    private func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
