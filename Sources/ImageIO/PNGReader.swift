import CPNG
import Foundation

/// PNG files through libpng's simplified API, decoded to the bytes Pillow's
/// `Image.open(p).convert('RGB' | 'L')` would give.
public enum PNGFile {
    /// The writer's bounds on what it is asked to write.
    public static let maxSide = 32768
    public static let maxPixels = 1 << 28

    /// Alpha is dropped, not composited (Pillow's convert('RGB') on RGBA); palettes expand to their colours.
    /// 16-bit samples keep their high byte (value >> 8). Pillow does that for colour but clips 16-bit gray
    /// ('I;16') to 0...255, which turns every camera image into white; stpm deliberately scales instead.
    /// gAMA/sRGB/iCCP/tRNS are ignored, as in Pillow. Known difference: 16-bit images with alpha come from
    /// libpng premultiplied, so partially transparent pixels are un-premultiplied (may be 1 off) and fully
    /// transparent ones read as 0.
    static func decode(_ bytes: [UInt8], path: String) throws -> Image8 {
        if let image = PNGDirect.decode(bytes) { return image }
        return try decodeWithLibpng(bytes, path: path)
    }

    /// libpng alone: what `decode` gives when `PNGDirect` declines the file, and the oracle the tests and
    /// the fuzzer hold `PNGDirect` to.
    public static func decodeWithLibpng(_ bytes: [UInt8], path: String) throws -> Image8 {
        try decode(bytes, path: path) { image, width, height -> Image8 in
            let color = image.format & PNG_FORMAT_FLAG_COLOR != 0
            let alpha = image.format & PNG_FORMAT_FLAG_ALPHA != 0
            let sixteenBit = image.format & PNG_FORMAT_FLAG_LINEAR != 0
            let samples = (color ? 3 : 1) + (alpha ? 1 : 0)
            // Ask for exactly the file's layout: a format without the file's alpha would make libpng composite.
            image.format = image.format & (PNG_FORMAT_FLAG_COLOR | PNG_FORMAT_FLAG_ALPHA | PNG_FORMAT_FLAG_LINEAR)
            let count = width * height * samples
            if sixteenBit {
                var buffer = [UInt16](repeating: 0, count: count)
                try finish(&image, into: &buffer, path: path)
                return narrow16(buffer, width: width, height: height, color: color, alpha: alpha)
            }
            var buffer = [UInt8](repeating: 0, count: count)
            try finish(&image, into: &buffer, path: path)
            return dropAlpha(buffer, width: width, height: height, color: color, alpha: alpha)
        }
    }

    /// The stored samples of a 16-bit gray PNG without alpha (what `writeGray16` writes); other layouts are
    /// refused, since libpng would gamma-convert 8-bit data on the way to 16 bits.
    public static func readGray16(path: String) throws -> (values: [UInt16], width: Int, height: Int) {
        try decode(try readWholeFile(path, limit: try ImageLimits.maxFileBytes()), path: path) { image, width, height in
            guard image.format & ~PNG_FORMAT_FLAG_COLORMAP == PNG_FORMAT_FLAG_LINEAR else {
                throw ImageIOError(path: path, message: "not a 16-bit gray PNG without alpha")
            }
            image.format = PNG_FORMAT_FLAG_LINEAR
            var values = [UInt16](repeating: 0, count: width * height)
            try finish(&image, into: &values, path: path)
            return (values, width, height)
        }
    }

    /// Runs `body` on a libpng image whose header has been read and whose size is within the limits.
    private static func decode<T>(_ bytes: [UInt8], path: String, _ body: (inout png_image, Int, Int) throws -> T) throws -> T {
        let png = PNGChunks.criticalOnly(bytes)
        return try png.withUnsafeBytes { bytes -> T in
            var image = png_image()
            image.version = stpm_png_image_version()
            defer { png_image_free(&image) }
            // libpng reads lazily from this memory, so all its calls must run inside withUnsafeBytes.
            guard png_image_begin_read_from_memory(&image, bytes.baseAddress, bytes.count) != 0 else {
                throw libpngError(image, path: path)
            }
            let width = Int(image.width), height = Int(image.height)
            try ImageLimits.check(width: width, height: height, path: path)
            return try body(&image, width, height)
        }
    }

    private static func finish<T>(_ image: inout png_image, into buffer: inout [T], path: String) throws {
        let ok = buffer.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
        guard ok != 0 else { throw libpngError(image, path: path) }
    }

    private static func dropAlpha(_ samples: [UInt8], width: Int, height: Int, color: Bool, alpha: Bool) -> Image8 {
        let channels = color ? 3 : 1
        guard alpha else { return Image8(width: width, height: height, channels: channels, pixels: samples) }
        var out = [UInt8](repeating: 0, count: width * height * channels)
        for i in 0..<(width * height) {
            for c in 0..<channels {
                out[i * channels + c] = samples[i * (channels + 1) + c]
            }
        }
        return Image8(width: width, height: height, channels: channels, pixels: out)
    }

    private static func narrow16(_ samples: [UInt16], width: Int, height: Int, color: Bool, alpha: Bool) -> Image8 {
        let channels = color ? 3 : 1
        let stride = channels + (alpha ? 1 : 0)
        var out = [UInt8](repeating: 0, count: width * height * channels)
        for i in 0..<(width * height) {
            let a = alpha ? UInt32(samples[i * stride + channels]) : 65535
            for c in 0..<channels {
                var v = UInt32(samples[i * stride + c])
                if a != 65535 {
                    v = a == 0 ? 0 : min(65535, (v * 65535 + a / 2) / a)
                }
                out[i * channels + c] = UInt8(v >> 8)
            }
        }
        return Image8(width: width, height: height, channels: channels, pixels: out)
    }

    static func libpngError(_ image: png_image, path: String) -> ImageIOError {
        let message = stringFromCBuffer(image.message)
        return ImageIOError(path: path, message: message.isEmpty ? "libpng failed without a message" : "libpng: \(message)")
    }
}
