import CPNG

extension PNGFile {
    /// 8-bit gray or RGB as PNG bytes in memory (for terminal graphics protocols, which carry files inline).
    public static func encode(_ image: Image8) throws -> [UInt8] {
        guard image.width > 0, image.height > 0, image.width <= maxSide, image.height <= maxSide,
              image.width * image.height <= maxPixels, image.channels == 1 || image.channels == 3 else {
            throw ImageIOError(path: "(memory)", message: "cannot encode a \(image.width)x\(image.height)x\(image.channels) image")
        }
        var png = png_image()
        png.version = stpm_png_image_version()
        png.width = UInt32(image.width)
        png.height = UInt32(image.height)
        png.format = image.channels == 3 ? stpm_png_format_rgb() : stpm_png_format_gray()
        // First call measures, second writes: libpng reports the size it needs when the buffer is nil.
        var size = 0
        let measured = image.pixels.withUnsafeBytes { png_image_write_to_memory(&png, nil, &size, 0, $0.baseAddress, 0, nil) }
        guard measured != 0, size > 0 else { throw ImageIOError(path: "(memory)", message: "cannot encode: \(libpngError(png, path: "(memory)").message)") }
        var bytes = [UInt8](repeating: 0, count: size)
        let written = bytes.withUnsafeMutableBytes { out in
            image.pixels.withUnsafeBytes { png_image_write_to_memory(&png, out.baseAddress, &size, 0, $0.baseAddress, 0, nil) }
        }
        guard written != 0 else { throw ImageIOError(path: "(memory)", message: "cannot encode: \(libpngError(png, path: "(memory)").message)") }
        return Array(bytes.prefix(size))
    }
}
