import Foundation
import XCTest
@testable import ImageIO
import Numerics
import TestSupport

/// `PNGDirect` (ISA-L's igzip and stpm's own unfiltering) against libpng, the oracle: where it answers it must
/// give libpng's bytes, and what it declines must still be decoded or refused by libpng.
final class PNGDirectTests: XCTestCase {
    /// Every filter type on every layout it handles, at widths that leave every remainder of the pixel
    /// size, with sample values from a small set so Paeth's ties and the byte wrap-around both occur.
    func testEveryFilterLayoutAndWidthGivesLibpngsBytes() throws {
        var rng = SplitMix64(seed: 11)
        let values: [UInt8] = [0, 1, 2, 3, 127, 128, 254, 255]
        for colorType: UInt8 in [0, 2, 4, 6] {
            let samples = [0: 1, 2: 3, 4: 2, 6: 4][Int(colorType)]!
            for width in [1, 2, 3, 4, 5, 7, 8, 13, 33] {
                let height = 11
                let pixels = (0..<(width * height * samples)).map { _ in values.randomElement(using: &rng)! }
                // Each filter on the first row (no row above) and twice on later ones.
                let filters = (0..<height).map { UInt8($0 == 0 ? width % 5 : ($0 - 1) % 5) }
                let file = Self.png(width: width, height: height, colorType: colorType, samples: samples,
                                    pixels: pixels, filters: filters)
                let direct = try XCTUnwrap(PNGDirect.decode(file), "declined type \(colorType) width \(width)")
                XCTAssertEqual(direct, try PNGFile.decodeWithLibpng(file, path: "t.png"),
                               "type \(colorType) width \(width) filters \(filters)")
            }
        }
    }

    /// Real compressed files (libpng's adaptive filters, zlib's deflate), written by stpm's writer and from
    /// the tire set. libpng writes a window smaller than 32K for data under 16K, which `PNGDirect` declines.
    func testCompressedFilesGiveLibpngsBytes() throws {
        let dir = try TemporaryDirectory()
        var rng = SystemRandomNumberGenerator()
        var files: [String] = []
        for (width, height, channels) in [(97, 61, 3), (128, 160, 1), (300, 40, 3), (40, 30, 3)] {
            // Smooth gradients with noise, so every filter is worth choosing somewhere.
            let pixels = (0..<(width * height * channels)).map { i in
                UInt8(truncatingIfNeeded: (i / channels) % width + (i / (width * channels)) * 3 + Int.random(in: 0...6, using: &rng))
            }
            let path = dir.file("w\(width).png")
            try PNGFile.write(Image8(width: width, height: height, channels: channels, pixels: pixels), path: path)
            files.append(path)
        }
        if let tire = try? SharedData.require("datasets", "tire", "test", "hole") {
            files += try FileManager.default.contentsOfDirectory(atPath: tire.path).sorted().prefix(3).map { tire.path + "/" + $0 }
        }
        for path in files {
            let bytes = try readWholeFile(path)
            let libpng = try PNGFile.decodeWithLibpng(bytes, path: path)
            XCTAssertEqual(try PNGFile.decode(bytes, path: path), libpng, path)
            if path.hasSuffix("w40.png") {
                let idat = try XCTUnwrap(bytes.firstRange(of: Array("IDAT".utf8))).upperBound
                XCTAssertLessThan(bytes[idat] >> 4, 7, "libpng's window for 3.6K of data")
                XCTAssertNil(PNGDirect.decode(bytes))
            } else {
                XCTAssertEqual(try XCTUnwrap(PNGDirect.decode(bytes), "declined \(path)"), libpng, path)
            }
        }
    }

    /// What only libpng may judge: declined here, and then decoded or refused by libpng as before.
    func testDeclinesWhatLibpngMustJudge() throws {
        let pixels: [UInt8] = (0..<48).map { UInt8($0 * 5) }
        let good = Self.png(width: 4, height: 4, colorType: 2, samples: 3, pixels: pixels, filters: [1, 2, 3, 4])
        XCTAssertNotNil(PNGDirect.decode(good))
        // The data intact, only the IDAT's CRC (the byte before IEND's 12) wrong: libpng refuses that.
        var badCRC = good
        badCRC[good.count - 13] ^= 1
        let badFilter = Self.png(width: 4, height: 4, colorType: 2, samples: 3, pixels: pixels, filters: [1, 2, 5, 4])
        for (name, file) in [("a bad IDAT CRC", badCRC), ("filter type 5", badFilter)] {
            XCTAssertNil(PNGDirect.decode(file), name)
            XCTAssertThrowsError(try ImageReader.decode(file, path: "bad.png"), name) { XCTAssertTrue("\($0)".contains("bad.png")) }
        }
        // libpng decodes a file that ends after its data; declining it keeps the judgement there.
        let noEnd = Array(good.dropLast(12))
        XCTAssertNil(PNGDirect.decode(noEnd))
        XCTAssertEqual(try PNGFile.decode(noEnd, path: "t.png"), try PNGFile.decode(good, path: "t.png"))
        for fixture in [PNGFixtures.palette, PNGFixtures.gray16, PNGFixtures.rgba16, PNGFixtures.gray1] {
            let bytes = [UInt8](Data(base64Encoded: fixture)!)
            XCTAssertNil(PNGDirect.decode(bytes))
            XCTAssertNoThrow(try ImageReader.decode(bytes, path: "fixture.png"))
        }
    }

    /// The zlib stream's chunks are joined for igzip: split anywhere (one-byte chunks, a header split
    /// across two, empty chunks between) it must decode to libpng's bytes, and a stream that is longer or
    /// shorter than the image, truncated, followed by more data (in its last chunk or in a chunk after it),
    /// with a wrong Adler-32 or a zlib header igzip would take but zlib refuses (check bits, a preset dictionary,
    /// a smaller window) is declined and left to libpng's judgement.
    func testStreamSplitAnywhereDecodesAndBadStreamsAreDeclined() throws {
        let dir = try TemporaryDirectory()
        var rng = SplitMix64(seed: 5)
        let (width, height) = (97, 61)
        let pixels = (0..<(width * height * 3)).map { i in UInt8(truncatingIfNeeded: i / 3 % width + i / 291 * 2 + Int(rng.next() % 5)) }
        let path = dir.file("s.png")
        try PNGFile.write(Image8(width: width, height: height, channels: 3, pixels: pixels), path: path)
        let file = try readWholeFile(path)
        let stream = Self.idatStream(file)
        XCTAssertGreaterThan(stream.count, 1000)
        let libpng = try PNGFile.decodeWithLibpng(file, path: path)
        XCTAssertEqual(PNGDirect.decode(file), libpng)
        for sizes in [[2, 1], [7], [2, 0, 100], [stream.count / 2, 0], [3, 8192], [1]] {
            var parts: [[UInt8]] = [], start = 0, k = 0
            while start < stream.count {
                let n = min(sizes[k % sizes.count], stream.count - start)
                parts.append(Array(stream[start..<(start + n)]))
                start += n
                k += 1
            }
            let split = Self.with(file, idat: parts)
            XCTAssertTrue(PNGDirect.decode(split) == libpng, "parts of \(sizes)")
            XCTAssertTrue(try PNGFile.decode(split, path: path) == libpng, "parts of \(sizes)")
        }
        var badAdler = stream, badCheck = stream
        badAdler[stream.count - 1] ^= 1
        badCheck[1] ^= 1
        // A zlib header with these method/window and flag bits and valid check bits, then the stream's data.
        func header(_ cmf: UInt8, _ flags: UInt8) -> [UInt8] {
            let top = flags & 0xE0
            return [cmf, top | UInt8((31 - (Int(cmf) << 8 | Int(top)) % 31) % 31)] + stream.dropFirst(2)
        }
        var shorter = file, longer = file
        // IHDR's height, big-endian at bytes 20-23 (its CRC is the chunk's, recomputed by `with`).
        shorter[23] -= 1
        longer[23] += 1
        let bad: [(String, [UInt8])] = [
            ("one more byte", Self.with(file, idat: [stream + [0]])),
            ("two more bytes", Self.with(file, idat: [stream + [0, 0]])),
            ("nine more bytes", Self.with(file, idat: [stream + [UInt8](repeating: 7, count: 9)])),
            ("a chunk after the stream", Self.with(file, idat: [stream, [0]])),
            ("bytes between the data and its Adler-32", Self.with(file, idat: [stream.dropLast(4) + [0, 0, 0] + stream.suffix(4)])),
            ("no Adler-32", Self.with(file, idat: [Array(stream.dropLast(4))])),
            ("one byte short", Self.with(file, idat: [Array(stream.dropLast(1))])),
            ("half the stream", Self.with(file, idat: [Array(stream.prefix(stream.count / 2))])),
            ("a wrong Adler-32", Self.with(file, idat: [badAdler])),
            ("wrong zlib check bits", Self.with(file, idat: [badCheck])),
            ("a preset dictionary", Self.with(file, idat: [header(0x78, stream[1] | 0x20)])),
            ("a 16K window", Self.with(file, idat: [header(0x68, stream[1])])),
            ("a row more data than the image", Self.with(shorter, idat: [stream])),
            ("a row less data than the image", Self.with(longer, idat: [stream])),
        ]
        for (name, bytes) in bad {
            XCTAssertNil(PNGDirect.decode(bytes), name)
            let judged = Result { try PNGFile.decodeWithLibpng(bytes, path: "bad.png") }
            switch (judged, Result { try PNGFile.decode(bytes, path: "bad.png") }) {
            case let (.success(a), .success(b)): XCTAssertTrue(a == b, name)
            case let (.failure(a), .failure(b)): XCTAssertEqual("\(a)", "\(b)", name)
            default: XCTFail("\(name): libpng alone and the reader disagree")
            }
        }
    }

    /// The IDAT chunks' data in order.
    static func idatStream(_ file: [UInt8]) -> [UInt8] {
        var stream: [UInt8] = [], pos = 8
        while pos + 12 <= file.count {
            let length = file[pos..<(pos + 4)].reduce(0) { $0 << 8 | Int($1) }
            if Array(file[(pos + 4)..<(pos + 8)]) == Array("IDAT".utf8) { stream += file[(pos + 8)..<(pos + 8 + length)] }
            pos += 12 + length
        }
        return stream
    }

    /// `file`'s IHDR (its CRC recomputed) with the given IDAT chunks and IEND.
    static func with(_ file: [UInt8], idat parts: [[UInt8]]) -> [UInt8] {
        PNGChunks.signature + chunk("IHDR", Array(file[16..<29])) + parts.flatMap { chunk("IDAT", $0) } + chunk("IEND", [])
    }

    /// A PNG whose rows are filtered as given and stored in uncompressed deflate blocks.
    static func png(width: Int, height: Int, colorType: UInt8, samples: Int, pixels: [UInt8], filters: [UInt8]) -> [UInt8] {
        let rowBytes = width * samples
        var raw: [UInt8] = []
        for y in 0..<height {
            let row = Array(pixels[(y * rowBytes)..<((y + 1) * rowBytes)])
            let above = y > 0 ? Array(pixels[((y - 1) * rowBytes)..<(y * rowBytes)]) : [UInt8](repeating: 0, count: rowBytes)
            raw.append(filters[y])
            for i in 0..<rowBytes {
                let a = i >= samples ? Int(row[i - samples]) : 0, b = Int(above[i]), c = i >= samples ? Int(above[i - samples]) : 0
                let predicted: Int
                switch filters[y] {
                case 0: predicted = 0
                case 1: predicted = a
                case 2: predicted = b
                case 3: predicted = (a + b) / 2
                default:
                    let p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
                    predicted = pa <= pb && pa <= pc ? a : pb <= pc ? b : c
                }
                raw.append(UInt8(truncatingIfNeeded: Int(row[i]) - predicted))
            }
        }
        var zlib: [UInt8] = [0x78, 0x01]
        var start = 0
        repeat {
            let n = min(65535, raw.count - start)
            zlib += [start + n == raw.count ? 1 : 0, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            zlib += raw[start..<(start + n)]
            start += n
        } while start < raw.count
        var s1: UInt32 = 1, s2: UInt32 = 0
        for byte in raw { s1 = (s1 + UInt32(byte)) % 65521; s2 = (s2 + s1) % 65521 }
        zlib += bigEndian(s2 << 16 | s1)
        let header = bigEndian(UInt32(width)) + bigEndian(UInt32(height)) + [8, colorType, 0, 0, 0]
        return PNGChunks.signature + chunk("IHDR", header) + chunk("IDAT", zlib) + chunk("IEND", [])
    }

    private static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in body {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return bigEndian(UInt32(data.count)) + body + bigEndian(~crc)
    }

    private static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
}
