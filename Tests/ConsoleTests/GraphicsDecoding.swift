import Foundation
import ImageIO
@testable import Console

/// Independent readers of what the graphics encoders write, so tests compare decoded pixels.
enum GraphicsDecoding {
    /// kitty APC commands (ESC _ G keys ; payload ESC \) in order.
    static func kittyCommands(_ bytes: [UInt8]) -> [(keys: [String: String], payload: [UInt8])] {
        var result: [(keys: [String: String], payload: [UInt8])] = []
        var i = 0
        while let start = find([0x1B, 0x5F, 0x47], in: bytes, from: i) {
            guard let end = find([0x1B, 0x5C], in: bytes, from: start + 3) else { break }
            let body = Array(bytes[(start + 3)..<end])
            let semicolon = body.firstIndex(of: 0x3B) ?? body.count
            let keys = String(decoding: body[..<semicolon], as: UTF8.self).split(separator: ",").reduce(into: [String: String]()) {
                let kv = $1.split(separator: "=", maxSplits: 1)
                $0[String(kv[0])] = kv.count > 1 ? String(kv[1]) : ""
            }
            result.append((keys, semicolon < body.count ? Array(body[(semicolon + 1)...]) : []))
            i = end + 2
        }
        return result
    }

    static func decodePNG(_ bytes: [UInt8]) throws -> PixelImage {
        let image = try ImageReader.decode(bytes, path: "(transmitted PNG)", as: .rgb)
        return PixelImage(width: image.width, height: image.height,
                          pixels: (0..<(image.width * image.height)).map { RGB(image.pixels[3 * $0], image.pixels[3 * $0 + 1], image.pixels[3 * $0 + 2]) })
    }

    /// A DCS sixel image (raster attributes required, colours in RGB percent) as RGB; pixels no colour
    /// was drawn on are nil.
    static func decodeSixel(_ bytes: [UInt8]) -> (width: Int, height: Int, pixels: [RGB?])? {
        guard let dcs = find([0x1B, 0x50], in: bytes, from: 0), let q = bytes[dcs...].firstIndex(of: UInt8(ascii: "q")),
              let end = find([0x1B, 0x5C], in: bytes, from: q) else { return nil }
        let data = Array(bytes[(q + 1)..<end])
        var i = 0
        func number() -> Int {
            var n = 0
            while i < data.count, (48...57).contains(data[i]) { n = n * 10 + Int(data[i] - 48); i += 1 }
            return n
        }
        func numbers() -> [Int] {
            var list = [number()]
            while i < data.count, data[i] == UInt8(ascii: ";") { i += 1; list.append(number()) }
            return list
        }
        guard data.first == UInt8(ascii: "\"") else { return nil }
        i = 1
        let raster = numbers()
        guard raster.count == 4 else { return nil }
        let (width, height) = (raster[2], raster[3])
        var pixels = [RGB?](repeating: nil, count: width * height)
        var palette: [Int: RGB] = [:]
        var color = 0, x = 0, band = 0
        func percent(_ v: Int) -> UInt8 { UInt8((Double(v) * 255 / 100).rounded()) }
        func paint(_ c: UInt8, _ count: Int) {
            let bits = Int(c) - 63
            for _ in 0..<count {
                for k in 0..<6 where bits & (1 << k) != 0 {
                    let y = band * 6 + k
                    if x < width, y < height { pixels[y * width + x] = palette[color] }
                }
                x += 1
            }
        }
        while i < data.count {
            let c = data[i]
            switch c {
            case UInt8(ascii: "#"):
                i += 1
                let args = numbers()
                color = args[0]
                if args.count == 5, args[1] == 2 { palette[color] = RGB(percent(args[2]), percent(args[3]), percent(args[4])) }
            case UInt8(ascii: "!"):
                i += 1
                let count = number()
                paint(data[i], count); i += 1
            case UInt8(ascii: "$"): x = 0; i += 1
            case UInt8(ascii: "-"): x = 0; band += 1; i += 1
            case 63...126: paint(c, 1); i += 1
            default: i += 1
            }
        }
        return (width, height, pixels)
    }

    /// OSC 1337 File= … : base64 BEL → its arguments and the decoded file.
    static func itermImage(_ bytes: [UInt8]) -> (arguments: [String: String], file: [UInt8])? {
        guard let start = find(Array("\u{1B}]1337;File=".utf8), in: bytes, from: 0),
              let colon = bytes[start...].firstIndex(of: UInt8(ascii: ":")),
              let bell = bytes[colon...].firstIndex(of: 0x07) else { return nil }
        let arguments = String(decoding: bytes[(start + 12)..<colon], as: UTF8.self).split(separator: ";").reduce(into: [String: String]()) {
            let kv = $1.split(separator: "=", maxSplits: 1)
            $0[String(kv[0])] = kv.count > 1 ? String(kv[1]) : ""
        }
        guard let file = Data(base64Encoded: Data(bytes[(colon + 1)..<bell])) else { return nil }
        return (arguments, Array(file))
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard from <= haystack.count - needle.count else { return nil }
        return (from...(haystack.count - needle.count)).first { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}
