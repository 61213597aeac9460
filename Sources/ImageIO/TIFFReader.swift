import CTIFF

/// TIFF through libtiff as industrial cameras write it: 8- or 16-bit unsigned samples, gray (min-is-black)
/// or RGB, in strips or tiles, planar or interleaved, with any compression libtiff decodes (none, LZW,
/// Deflate, PackBits...). Extra samples (alpha) are dropped as Pillow's convert('RGB') drops them; the
/// Orientation tag is not applied, as Pillow's `Image.open` does not. 16-bit samples keep their high byte
/// (value >> 8), as the PNG reader does; Pillow agrees for RGB and clips for gray (see PNGFile).
enum TIFFFile {
    static func decode(_ bytes: [UInt8], path: String) throws -> Image8 {
        try bytes.withUnsafeBufferPointer { data -> Image8 in
            var source = stpm_tiff_source()
            source.data = data.baseAddress
            source.size = UInt64(data.count)
            return try withUnsafeMutablePointer(to: &source) { source -> Image8 in
                // libtiff's own buffers (strips, tiles) can be no larger than the file may be.
                guard let tiff = stpm_tiff_open(source, tmsize_t(try ImageLimits.maxFileBytes())) else {
                    throw failure(source, path: path, doing: "cannot open")
                }
                defer { TIFFClose(tiff) }
                return try read(tiff, source: source, path: path)
            }
        }
    }

    private static func read(_ tiff: OpaquePointer, source: UnsafeMutablePointer<stpm_tiff_source>, path: String) throws -> Image8 {
        func u16(_ tag: Int32) -> UInt16? {
            var value: UInt16 = 0
            return stpm_tiff_get_u16(tiff, UInt32(tag), &value) == 1 ? value : nil
        }
        func u32(_ tag: Int32) -> UInt32? {
            var value: UInt32 = 0
            return stpm_tiff_get_u32(tiff, UInt32(tag), &value) == 1 ? value : nil
        }
        let width = Int(u32(TIFFTAG_IMAGEWIDTH) ?? 0), height = Int(u32(TIFFTAG_IMAGELENGTH) ?? 0)
        try ImageLimits.check(width: width, height: height, path: path)
        let bits = Int(u16(TIFFTAG_BITSPERSAMPLE) ?? 0)
        let samples = Int(u16(TIFFTAG_SAMPLESPERPIXEL) ?? 0)
        let photometric = u16(TIFFTAG_PHOTOMETRIC).map(Int32.init)
        let planar = Int32(u16(TIFFTAG_PLANARCONFIG) ?? UInt16(PLANARCONFIG_CONTIG))
        let sampleFormat = Int32(u16(TIFFTAG_SAMPLEFORMAT) ?? UInt16(SAMPLEFORMAT_UINT))
        let channels: Int
        switch photometric {
        case PHOTOMETRIC_MINISBLACK: channels = 1
        case PHOTOMETRIC_RGB: channels = 3
        default:
            throw ImageIOError(path: path, message: "TIFF photometric interpretation \(photometric.map(String.init) ?? "(missing)") "
                               + "is not supported (gray min-is-black and RGB are)")
        }
        guard bits == 8 || bits == 16, sampleFormat == SAMPLEFORMAT_UINT else {
            throw ImageIOError(path: path, message: "TIFF with \(bits)-bit samples of format \(sampleFormat) is not supported "
                               + "(8- and 16-bit unsigned are)")
        }
        guard samples >= channels, samples <= 4, planar == PLANARCONFIG_CONTIG || planar == PLANARCONFIG_SEPARATE else {
            throw ImageIOError(path: path, message: "TIFF with \(samples) samples per pixel in planar configuration \(planar) "
                               + "is not supported")
        }
        let separate = planar == PLANARCONFIG_SEPARATE
        let planes = separate ? samples : 1
        let pixelBytes = (separate ? 1 : samples) * bits / 8
        let rowBytes = width * pixelBytes
        var raw = [UInt8](repeating: 0, count: planes * height * rowBytes)
        try raw.withUnsafeMutableBytes { raw in
            if TIFFIsTiled(tiff) != 0 {
                try readTiles(tiff, into: raw, planes: planes, width: width, height: height, pixelBytes: pixelBytes,
                              tileWidth: Int(u32(TIFFTAG_TILEWIDTH) ?? 0), tileHeight: Int(u32(TIFFTAG_TILELENGTH) ?? 0),
                              source: source, path: path)
            } else {
                guard TIFFScanlineSize(tiff) == rowBytes else {
                    throw ImageIOError(path: path, message: "TIFF rows of \(TIFFScanlineSize(tiff)) bytes do not match "
                                       + "\(width) pixels of \(pixelBytes) bytes")
                }
                for plane in 0..<planes {
                    for y in 0..<height {
                        let row = raw.baseAddress! + (plane * height + y) * rowBytes
                        guard TIFFReadScanline(tiff, row, UInt32(y), UInt16(plane)) >= 0 else {
                            throw failure(source, path: path, doing: "cannot read row \(y)")
                        }
                    }
                }
            }
        }
        return narrow(raw, width: width, height: height, channels: channels, samples: samples, separate: separate, bits: bits)
    }

    private static func readTiles(_ tiff: OpaquePointer, into raw: UnsafeMutableRawBufferPointer, planes: Int, width: Int,
                                  height: Int, pixelBytes: Int, tileWidth: Int, tileHeight: Int,
                                  source: UnsafeMutablePointer<stpm_tiff_source>, path: String) throws {
        let tileBytes = tileWidth * tileHeight * pixelBytes
        guard tileWidth > 0, tileHeight > 0, tileWidth <= 1 << 16, tileHeight <= 1 << 16,
              tileWidth * tileHeight <= (try ImageLimits.maxPixels()), TIFFTileSize(tiff) == tileBytes else {
            throw ImageIOError(path: path, message: "TIFF tiles of \(tileWidth)x\(tileHeight) pixels are not supported here")
        }
        var tile = [UInt8](repeating: 0, count: tileBytes)
        let rowBytes = width * pixelBytes
        for plane in 0..<planes {
            for top in stride(from: 0, to: height, by: tileHeight) {
                for left in stride(from: 0, to: width, by: tileWidth) {
                    try tile.withUnsafeMutableBytes { tile in
                        guard TIFFReadTile(tiff, tile.baseAddress, UInt32(left), UInt32(top), 0, UInt16(plane)) >= 0 else {
                            throw failure(source, path: path, doing: "cannot read the tile at \(left),\(top)")
                        }
                        let copyBytes = min(tileWidth, width - left) * pixelBytes
                        for r in 0..<min(tileHeight, height - top) {
                            let destination = raw.baseAddress! + (plane * height + top + r) * rowBytes + left * pixelBytes
                            destination.copyMemory(from: tile.baseAddress! + r * tileWidth * pixelBytes, byteCount: copyBytes)
                        }
                    }
                }
            }
        }
    }

    /// The first `channels` samples of each pixel as bytes; 16-bit samples (host order from libtiff) keep the high byte.
    private static func narrow(_ raw: [UInt8], width: Int, height: Int, channels: Int, samples: Int, separate: Bool,
                               bits: Int) -> Image8 {
        let n = width * height
        let bytes = bits / 8
        var out = [UInt8](repeating: 0, count: n * channels)
        raw.withUnsafeBytes { raw in
            for i in 0..<n {
                for c in 0..<channels {
                    let sample = separate ? c * n + i : i * samples + c
                    out[i * channels + c] = bytes == 1 ? raw[sample]
                        : UInt8(raw.loadUnaligned(fromByteOffset: 2 * sample, as: UInt16.self) >> 8)
                }
            }
        }
        return Image8(width: width, height: height, channels: channels, pixels: out)
    }

    private static func failure(_ source: UnsafeMutablePointer<stpm_tiff_source>, path: String, doing: String) -> ImageIOError {
        let message = stringFromCBuffer(source.pointee.message)
        return ImageIOError(path: path, message: message.isEmpty ? "libtiff: \(doing)" : "libtiff: \(doing): \(message)")
    }
}
