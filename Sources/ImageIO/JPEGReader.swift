import CJPEG

/// JPEG through libjpeg-turbo, decoded as Pillow decodes it: libjpeg's accurate integer IDCT (JDCT_ISLOW)
/// with fancy (smooth) chroma upsampling, no draft mode and no scaling; gray files stay gray, 3-component
/// files come out RGB through libjpeg's own colour conversion, and 4-component (CMYK/YCCK) files are read as
/// Adobe-inverted CMYK and converted to RGB with Pillow's formula.
/// As with Pillow's `Image.open` + `convert`, the EXIF orientation tag is NOT applied: pixels are returned as
/// stored. Unlike Pillow, data that libjpeg can only decode with a warning that it lost or made up pixels
/// (a truncated file, a corrupt entropy-coded segment) is an error rather than a silently grey or garbled image.
enum JPEGFile {
    static func decode(_ bytes: [UInt8], path: String) throws -> Image8 {
        guard let decoder = stpm_jpeg_create() else {
            throw ImageIOError(path: path, message: "out of memory creating the JPEG decoder")
        }
        defer { stpm_jpeg_destroy(decoder) }
        return try bytes.withUnsafeBufferPointer { data -> Image8 in
            // libjpeg reads lazily from this memory, so every call stays inside this closure.
            guard stpm_jpeg_read_header(decoder, data.baseAddress, UInt(data.count)) == 0 else {
                throw failure(decoder, path: path)
            }
            let width = Int(decoder.pointee.cinfo.image_width), height = Int(decoder.pointee.cinfo.image_height)
            let components = Int(decoder.pointee.cinfo.num_components)
            try ImageLimits.check(width: width, height: height, path: path)
            let outSpace: J_COLOR_SPACE
            switch components {
            case 1: outSpace = JCS_GRAYSCALE
            case 3: outSpace = JCS_RGB
            case 4: outSpace = JCS_CMYK
            default:
                throw ImageIOError(path: path, message: "JPEG with \(components) colour components is not supported (1, 3 or 4 are)")
            }
            var pixels = [UInt8](repeating: 0, count: width * height * components)
            let status = pixels.withUnsafeMutableBufferPointer {
                stpm_jpeg_decode(decoder, outSpace, $0.baseAddress, $0.count)
            }
            guard status == 0 else { throw failure(decoder, path: path) }
            if decoder.pointee.corrupt != 0 { throw failure(decoder, path: path, prefix: "corrupt JPEG data: ") }
            if components == 4 { return adobeCMYKToRGB(pixels, width: width, height: height) }
            return Image8(width: width, height: height, channels: components, pixels: pixels)
        }
    }

    /// Pillow reads every CMYK JPEG as Adobe (inverted) CMYK ("CMYK;I") and converts with
    /// nk = 255 - k, channel = nk - nk * c / 255 (rounded by its MULDIV255).
    private static func adobeCMYKToRGB(_ cmyk: [UInt8], width: Int, height: Int) -> Image8 {
        var rgb = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) {
            let nk = Int(cmyk[4 * i + 3])  // 255 - (255 - stored k)
            for c in 0..<3 {
                let ink = 255 - Int(cmyk[4 * i + c])
                let t = ink * nk + 128
                rgb[3 * i + c] = UInt8(clamping: nk - ((t >> 8) + t) >> 8)
            }
        }
        return Image8(width: width, height: height, channels: 3, pixels: rgb)
    }

    private static func failure(_ decoder: UnsafeMutablePointer<stpm_jpeg>, path: String, prefix: String = "") -> ImageIOError {
        let message = stringFromCBuffer(decoder.pointee.message)
        return ImageIOError(path: path, message: prefix.isEmpty ? "libjpeg: \(message)" : prefix + message)
    }
}
