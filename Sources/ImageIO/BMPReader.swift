/// Windows BMP, parsed here with every header field bounded before use: 1/4/8-bit palettes, 24-bit BGR and
/// 32-bit BGRX (or byte-aligned BITFIELDS masks), bottom-up or top-down rows, as Pillow's BmpImagePlugin reads
/// them (alpha dropped, as convert('RGB') drops it). RLE, 16-bit and embedded JPEG/PNG BMPs are refused.
enum BMPFile {
    static func decode(_ bytes: [UInt8], path: String) throws -> Image8 {
        var header = BMPHeader(bytes: bytes, path: path)
        try header.parse()
        return try header.pixels()
    }
}

private struct BMPHeader {
    let bytes: [UInt8]
    let path: String
    var width = 0
    var height = 0
    var topDown = false
    var bits = 0
    var compression = 0
    var masks: [UInt32] = []
    var palette: [[UInt8]] = []
    var paletteIsGray = false
    var dataOffset = 0

    init(bytes: [UInt8], path: String) {
        self.bytes = bytes
        self.path = path
    }

    func fail(_ message: String) -> ImageIOError { ImageIOError(path: path, message: "BMP: " + message) }

    func u16(_ at: Int) throws -> Int {
        guard at >= 0, at + 2 <= bytes.count else { throw fail("file is truncated inside its header") }
        return Int(bytes[at]) | Int(bytes[at + 1]) << 8
    }

    func u32(_ at: Int) throws -> UInt32 {
        guard at >= 0, at + 4 <= bytes.count else { throw fail("file is truncated inside its header") }
        return UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
    }

    mutating func parse() throws {
        dataOffset = Int(try u32(10))
        let headerSize = Int(try u32(14))
        var colors = 0
        var paletteEntryBytes = 4
        switch headerSize {
        case 12:
            width = try u16(18)
            height = try u16(20)
            bits = try u16(24)
            paletteEntryBytes = 3
        case 40, 52, 56, 64, 108, 124:
            width = Int(Int32(bitPattern: try u32(18)))
            let storedHeight = Int32(bitPattern: try u32(22))
            // Negative height means rows are stored top row first.
            topDown = storedHeight < 0
            height = topDown ? -Int(storedHeight) : Int(storedHeight)
            bits = try u16(28)
            compression = Int(try u32(30))
            colors = Int(try u32(46))
            if compression == 3 {
                // Masks follow a 40-byte header, and are inside the larger ones.
                masks = try (0..<(headerSize >= 56 ? 4 : 3)).map { try u32(54 + 4 * $0) }
            }
        default:
            throw fail("header of \(headerSize) bytes is not a known BMP header")
        }
        try ImageLimits.check(width: width, height: height, path: path)
        switch (compression, bits) {
        case (0, 1), (0, 4), (0, 8), (0, 24), (0, 32): break
        case (3, 24), (3, 32):
            try checkMasks()
        case (1, _), (2, _): throw fail("RLE-compressed BMP is not supported")
        default: throw fail("\(bits)-bit BMP with compression \(compression) is not supported (1, 4, 8, 24 and 32-bit are)")
        }
        if bits <= 8 {
            if colors == 0 { colors = 1 << bits }
            guard colors <= 1 << bits else { throw fail("palette of \(colors) colours for \(bits)-bit pixels") }
            let start = 14 + headerSize + (compression == 3 && headerSize == 40 ? 12 : 0)
            guard start + colors * paletteEntryBytes <= bytes.count else { throw fail("file is truncated inside its palette") }
            palette = (0..<colors).map { i in
                let entry = start + i * paletteEntryBytes
                return [bytes[entry + 2], bytes[entry + 1], bytes[entry]]
            }
            // Pillow keeps a palette of (i, i, i) as gray; the pixels are the same either way.
            paletteIsGray = colors > 2 && palette.enumerated().allSatisfy { $0.element == [UInt8](repeating: UInt8($0.offset), count: 3) }
            // Pillow's reading: an offset pointing at the palette itself means the pixels follow the palette.
            if dataOffset == 0 || dataOffset == 14 + headerSize { dataOffset = start + colors * paletteEntryBytes }
        } else if dataOffset == 0 {
            dataOffset = 14 + headerSize + (compression == 3 && headerSize == 40 ? 12 : 0)
        }
    }

    /// Each of R, G, B must be one whole byte of the 24- or 32-bit pixel.
    private func checkMasks() throws {
        let wholeBytes = (0..<(bits / 8)).map { UInt32(0xFF) << (8 * $0) }
        guard masks.count >= 3, masks.prefix(3).allSatisfy(wholeBytes.contains), Set(masks.prefix(3)).count == 3 else {
            throw fail("bitfield masks \(masks.map { "0x" + String($0, radix: 16) }) are not supported (byte-aligned R, G, B are)")
        }
    }

    func pixels() throws -> Image8 {
        let stride = ((width * bits + 31) >> 3) & ~3
        guard dataOffset >= 0, dataOffset <= bytes.count, height <= (bytes.count - dataOffset) / stride else {
            throw fail("file is truncated: \(height) rows of \(stride) bytes do not fit after offset \(dataOffset)")
        }
        let channels = bits <= 8 && paletteIsGray ? 1 : 3
        var out = [UInt8](repeating: 0, count: width * height * channels)
        // Byte position of R, G, B inside a pixel.
        let order: [Int] = bits == 24 || (bits == 32 && masks.isEmpty) ? [2, 1, 0]
            : masks.prefix(3).map { $0.trailingZeroBitCount / 8 }
        bytes.withUnsafeBufferPointer { src in
            for y in 0..<height {
                let row = dataOffset + (topDown ? y : height - 1 - y) * stride
                let outRow = y * width * channels
                if bits <= 8 {
                    let perByte = 8 / bits, mask = (1 << bits) - 1
                    for x in 0..<width {
                        let byte = Int(src[row + x / perByte])
                        let index = (byte >> ((perByte - 1 - x % perByte) * bits)) & mask
                        if channels == 1 {
                            out[outRow + x] = UInt8(index)
                        } else if index < palette.count {
                            for c in 0..<3 { out[outRow + 3 * x + c] = palette[index][c] }
                        }
                    }
                } else {
                    let pixelBytes = bits / 8
                    for x in 0..<width {
                        let p = row + x * pixelBytes
                        for c in 0..<3 { out[outRow + 3 * x + c] = src[p + order[c]] }
                    }
                }
            }
        }
        return Image8(width: width, height: height, channels: channels, pixels: out)
    }
}
