import CPNG
import Foundation

extension PNGFile {
    /// 8-bit gray or RGB, replacing `path` atomically.
    public static func write(_ image: Image8, path: String) throws {
        let format = image.channels == 3 ? stpm_png_format_rgb() : stpm_png_format_gray()
        try image.pixels.withUnsafeBytes { pixels in
            try writeAtomically(path: path, width: image.width, height: image.height, format: format,
                                pixels: pixels.baseAddress)
        }
    }

    /// 16-bit gray for raw anomaly maps (values stored as given; libpng tags the file as linear).
    public static func writeGray16(values: [UInt16], width: Int, height: Int, path: String) throws {
        precondition(values.count == width * height, "writeGray16: \(values.count) values for \(width)x\(height)")
        try values.withUnsafeBytes { pixels in
            try writeAtomically(path: path, width: width, height: height, format: stpm_png_format_linear_y(),
                                pixels: pixels.baseAddress)
        }
    }

    /// Readers never see a half-written file: libpng writes a temporary in the target's directory
    /// (same file system, so rename(2) is atomic), which then replaces the target.
    private static func writeAtomically(path: String, width: Int, height: Int, format: UInt32,
                                        pixels: UnsafeRawPointer?) throws {
        guard width > 0, height > 0, width <= maxSide, height <= maxSide, width * height <= maxPixels else {
            throw ImageIOError(path: path, message: "cannot write a \(width)x\(height) image")
        }
        let target = URL(fileURLWithPath: path)
        let temporary = target.deletingLastPathComponent()
            .appendingPathComponent(".\(target.lastPathComponent).\(getpid()).\(UInt32.random(in: .min ... .max)).tmp").path
        var image = png_image()
        image.version = stpm_png_image_version()
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = format
        // On failure libpng has already removed its partial file and left strerror() or its own reason in message.
        guard png_image_write_to_file(&image, temporary, 0, pixels, 0, nil) != 0 else {
            let reason = libpngError(image, path: path).message
            throw ImageIOError(path: path, message: "cannot write: \(reason)")
        }
        guard rename(temporary, path) == 0 else {
            let reason = systemError()
            unlink(temporary)
            throw ImageIOError(path: path, message: "cannot move the written file into place: \(reason)")
        }
    }
}
