import Foundation
import XCTest
@testable import ImageIO
import TestSupport

/// Bad input to every decoder: each truncation and random corruption of a small valid file ends in an
/// error naming the file or in an image, never a crash; headers declaring huge sizes are refused from the
/// header; the pixel limit is configurable; the type comes from the content, not the name.
final class HostileImageTests: XCTestCase {
    /// 8x8 RGB noise written by Pillow 13.
    static let samples: [String: String] = [
        "jpeg": "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhIQDQ4RDgsLEBYQERMU"
            + "FRUVDA8XGBYUGBIUFRT/2wBDAQMEBAUEBQkFBQkUDQsNFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU"
            + "FBQUFBQUFBT/wAARCAAIAAgDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUF"
            + "BAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVW"
            + "V1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi"
            + "4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAEC"
            + "AxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVm"
            + "Z2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq"
            + "8vP09fb3+Pn6/9oADAMBAAIRAxEAPwC3e31rrekW0KWMnifQ7jSktLXSdFu5pI0naNphFNatDIsKhNi+XI8gjErAN8haMoorXC4G"
            + "hXcpYjmm3rfnnHW7v8Eop3trfrd7tnfBqjLkUYvRbxi97uyutEuiVku122//2Q==",
        "jpegProgressive": "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsKCwsNDhIQDQ4RDgsLEBYQERMU"
            + "FRUVDA8XGBYUGBIUFRT/2wBDAQMEBAUEBQkFBQkUDQsNFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQU"
            + "FBQUFBQUFBT/wgARCAAIAAgDASIAAhEBAxEB/8QAFQABAQAAAAAAAAAAAAAAAAAAAAP/xAAVAQEBAAAAAAAAAAAAAAAAAAACA//a"
            + "AAwDAQACEAMQAAABqFf/xAAVEAEBAAAAAAAAAAAAAAAAAAACA//aAAgBAQABBQJs2l//xAAYEQEBAAMAAAAAAAAAAAAAAAABEQAi"
            + "kf/aAAgBAwEBPwE0ZDhn/8QAGhEAAgIDAAAAAAAAAAAAAAAAAQMCEQCBsf/aAAgBAgEBPwFSITsss7I4Rn//xAAbEAACAwADAAAA"
            + "AAAAAAAAAAABEQIDEgRxkf/aAAgBAQAGPwKIweTRKrMaqZEhpoxRXRafn//EABcQAQEBAQAAAAAAAAAAAAAAAAERIQD/2gAIAQEA"
            + "AT8hHpQfjVsjIU0bl5//2gAMAwEAAgADAAAAEP8A/8QAGREBAQADAQAAAAAAAAAAAAAAAREhMUFR/9oACAEDAQE/EGQpg2m6wpgO"
            + "BA8qr//EABkRAAIDAQAAAAAAAAAAAAAAAAERACExQf/aAAgBAgEBPxAmwm3uZeQtW+s6TP/EABYQAQEBAAAAAAAAAAAAAAAAAAEh"
            + "AP/aAAgBAQABPxAnScRgQCYgRXH/2Q==",
        "tiffLZW": "SUkqAOQAAACAEQQIIeP1zPFhGsYPkHMdugFyIg6jRRA8Fg0CMM3NgHHFwP07rA7HB1pQFtUZl9Lj1VNgwptIv9khF6nxnNQsLtfi"
            + "xwDcpslevoHvALJ1klcrHQDGY7M9YLR1okBMQhGltBx7LozNN8LZqLEAKl1A46louC5BBASCoEOcDo8/okcF5YJQRlUooIrItLOh"
            + "SP55DoGJ9iq9rmBCDdAmtugo5gllkoJFJyNo4OY5A9lKRtB5MEA2BhOCQTp5MFFqoEhAQJm91lcJsEzLEZGlumN+DVjpd/ghTM1I"
            + "QEAACgAAAQMAAQAAAAgAAAABAQMAAQAAAAgAAAACAQMAAwAAAGIBAAADAQMAAQAAAAUAAAAGAQMAAQAAAAIAAAARAQQAAQAAAAgA"
            + "AAAVAQMAAQAAAAMAAAAWAQMAAQAAAAgAAAAXAQQAAQAAANsAAAAcAQMAAQAAAAEAAAAAAAAACAAIAAgA",
        "tiffRaw": "SUkqAAgAAAAKAAABBAABAAAACAAAAAEBBAABAAAACAAAAAIBAwADAAAAhgAAAAMBAwABAAAAAQAAAAYBAwABAAAAAgAAABEBBAAB"
            + "AAAAjAAAABUBAwABAAAAAwAAABYBBAABAAAACAAAABcBBAABAAAAwAAAABwBAwABAAAAAQAAAAAAAAAIAAgACABEIII8/ebxwmsw"
            + "+Q7H3QHkiHU0og8LDQTDbtgOceD9d7B2cOuUC9UzX5c9qthhm5H/yRH1fM7UWLu/LOA3U8m9+g/wFp3JV1Z0BmZ2z7C064kCxEJp"
            + "2hz2umbT+LbUsQCp6g51WlwughAkKgjnB49/iThesJQjVVGCVouW6KT+8joMn8Wv12CEN4Fr3QpzCctKElLk2nDmcg/KpNoemEBs"
            + "GJwkJ56YUdWBQgQTb+tXE8FmsTJp3WP8NceX/wimzZA=",
        "bmp": "Qk32AAAAAAAAADYAAAAoAAAACAAAAAgAAAABABgAAAAAAMAAAADEDgAAxA4AAAAAAAAAAAAABEKB628TwRNXMrFmY91pxzX8CP+X"
            + "kM2mUhJKcNrkD3Lm2qTKQJgenBhsnick1VGYi1aCpOiWOvL+xZ8MYNevgTeECt1rywlzDuqpXFp1EIIuCCokjwfnOIl/lLBeUVUj"
            + "ZgZ0sM92ieu0QsQCHNppZrr2tvjTALHUEcn/znz1u1jU4Cy/yVM3D/q9nRbwVlfJ2G7D4HEOsHf963B21QuUl18z2Ko9kZthgiBE"
            + "5v08a8LxDvkwAd3HdYjkD6I0BA0L",
    ]

    private func sample(_ name: String) -> [UInt8] { [UInt8](Data(base64Encoded: Self.samples[name]!)!) }

    func testSamplesDecode() throws {
        for name in Self.samples.keys.sorted() {
            let image = try ImageReader.decode(sample(name), path: name)
            XCTAssertEqual([image.width, image.height, image.channels], [8, 8, 3], name)
        }
    }

    func testEveryTruncationIsAnErrorNamingTheFile() {
        for name in Self.samples.keys.sorted() {
            let whole = sample(name)
            for length in 0..<whole.count {
                let path = "/line/\(name)-cut-at-\(length)"
                XCTAssertThrowsError(try ImageReader.decode(Array(whole.prefix(length)), path: path), path) { error in
                    XCTAssertEqual((error as? ImageIOError)?.path, path, "\(error)")
                    XCTAssertTrue("\(error)".hasPrefix(path + ": "), "\(error)")
                }
            }
        }
    }

    func testTruncatedDataCarriesTheLibrarysReason() {
        let jpeg = sample("jpeg"), tiff = sample("tiffRaw")
        XCTAssertThrowsError(try ImageReader.decode(Array(jpeg.dropLast(40)), path: "cut.jpg")) {
            XCTAssertEqual("\($0)", "cut.jpg: corrupt JPEG data: Premature end of JPEG file")
        }
        XCTAssertThrowsError(try ImageReader.decode(Array(tiff.dropLast(10)), path: "cut.tif")) {
            XCTAssertEqual("\($0)", "cut.tif: libtiff: cannot read row 0: Read error at scanline 4294967295; got 182 bytes, expected 192")
        }
    }

    func testRandomCorruptionNeverCrashesAndErrorsNameTheFile() {
        var state: UInt64 = 0x5EED
        func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
        var errors = 0, decoded = 0
        for name in Self.samples.keys.sorted() {
            let whole = sample(name)
            for trial in 0..<1500 {
                var bytes = whole
                for _ in 0...next(4) { bytes[next(bytes.count)] = UInt8(next(256)) }
                let path = "/line/\(name)-\(trial)"
                do {
                    let image = try ImageReader.decode(bytes, path: path)
                    XCTAssertEqual(image.pixels.count, image.width * image.height * 3)
                    decoded += 1
                } catch {
                    XCTAssertEqual((error as? ImageIOError)?.path, path, "\(error)")
                    errors += 1
                }
            }
        }
        print("corrupted samples: \(errors) errors, \(decoded) decoded, no crash")
        XCTAssertGreaterThan(errors, 1000)
        XCTAssertGreaterThan(decoded, 100)
    }

    /// Headers patched to declare sizes whose pixels would need gigabytes; the files stay a few hundred bytes.
    func testHugeDeclaredSizesAreRefusedFromTheHeader() throws {
        var jpeg = sample("jpeg")
        let sof = jpeg.firstRange(of: [0xFF, 0xC0])!.lowerBound
        jpeg.replaceSubrange((sof + 5)..<(sof + 9), with: [0xFF, 0xDC, 0xFF, 0xDC])  // libjpeg's own limit is 65500
        var progressive = sample("jpegProgressive")
        let sof2 = progressive.firstRange(of: [0xFF, 0xC2])!.lowerBound
        progressive.replaceSubrange((sof2 + 5)..<(sof2 + 9), with: [0xC0, 0x00, 0xC0, 0x00])
        var tiff = sample("tiffRaw")  // IFD at offset 8: ImageWidth and ImageLength are its first two LONG entries
        tiff.replaceSubrange(18..<22, with: [0x40, 0x0D, 0x03, 0x00])
        tiff.replaceSubrange(30..<34, with: [0x40, 0x0D, 0x03, 0x00])
        var bmp = sample("bmp")
        bmp.replaceSubrange(18..<26, with: [0x60, 0xEA, 0, 0, 0x60, 0xEA, 0, 0])
        for (name, bytes, size) in [("jpeg", jpeg, "65500x65500"), ("progressive", progressive, "49152x49152"),
                                    ("tiff", tiff, "200000x200000"), ("bmp", bmp, "60000x60000")] {
            XCTAssertThrowsError(try ImageReader.decode(bytes, path: name)) { error in
                XCTAssertTrue("\(error)".contains("image is \(size), over the limit of 100000000 pixels"), "\(error)")
            }
        }
    }

    func testPixelLimitComesFromTheEnvironment() throws {
        defer { unsetenv(ImageLimits.environmentVariable) }
        setenv(ImageLimits.environmentVariable, "63", 1)
        for name in Self.samples.keys.sorted() {
            XCTAssertThrowsError(try ImageReader.decode(sample(name), path: name)) { error in
                XCTAssertTrue("\(error)".contains("8x8, over the limit of 63 pixels (set STPM_MAX_PIXELS"), "\(error)")
            }
        }
        setenv(ImageLimits.environmentVariable, "64", 1)
        XCTAssertNoThrow(try ImageReader.decode(sample("bmp"), path: "bmp"))
        setenv(ImageLimits.environmentVariable, "lots", 1)
        XCTAssertThrowsError(try ImageReader.decode(sample("bmp"), path: "bmp")) { error in
            XCTAssertEqual("\(error)", "STPM_MAX_PIXELS: 'lots' is not a positive whole number of pixels")
        }
    }

    func testTypeComesFromContentNotName() throws {
        let dir = try TemporaryDirectory()
        let misnamed = dir.file("actually-a-jpeg.png")
        try Data(sample("jpeg")).write(to: URL(fileURLWithPath: misnamed))
        XCTAssertEqual(try ImageReader.read(path: misnamed), try ImageReader.decode(sample("jpeg"), path: "jpeg"))
        let text = dir.file("notes.bmp")
        try Data("GIF89a, or rather just text".utf8).write(to: URL(fileURLWithPath: text))
        XCTAssertThrowsError(try ImageReader.read(path: text)) { error in
            XCTAssertEqual("\(error)", "\(text): not a PNG, JPEG, TIFF or BMP image (it starts with bytes 47 49 46 38 39 61 2c 20)")
        }
        let empty = dir.file("empty.jpg")
        FileManager.default.createFile(atPath: empty, contents: Data())
        XCTAssertThrowsError(try ImageReader.read(path: empty)) { XCTAssertEqual("\($0)", "\(empty): file is empty") }
        XCTAssertThrowsError(try ImageReader.read(path: dir.path)) { XCTAssertEqual("\($0)", "\(dir.path): is a folder, not an image") }
    }

    func testUnsupportedVariantsAreRefusedByName() {
        var rle = sample("bmp")
        rle[28] = 8
        rle[30] = 1
        XCTAssertThrowsError(try ImageReader.decode(rle, path: "rle.bmp")) {
            XCTAssertEqual("\($0)", "rle.bmp: BMP: RLE-compressed BMP is not supported")
        }
        var sixteen = sample("bmp")
        sixteen[28] = 16
        XCTAssertThrowsError(try ImageReader.decode(sixteen, path: "565.bmp")) {
            XCTAssertTrue("\($0)".contains("16-bit BMP with compression 0 is not supported"), "\($0)")
        }
    }
}
