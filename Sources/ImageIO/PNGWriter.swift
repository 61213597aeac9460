import FileOutput
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

    /// Through `AtomicFile`: libpng writes to the temporary file's descriptor (the same stdio path
    /// png_image_write_to_file takes, so the bytes are the same), then the file replaces the target.
    private static func writeAtomically(path: String, width: Int, height: Int, format: UInt32,
                                        pixels: UnsafeRawPointer?) throws {
        guard width > 0, height > 0, width <= maxSide, height <= maxSide, width * height <= maxPixels else {
            throw ImageIOError(path: path, message: "cannot write a \(width)x\(height) image")
        }
        var image = png_image()
        image.version = stpm_png_image_version()
        image.width = UInt32(width)
        image.height = UInt32(height)
        image.format = format
        do {
            try AtomicFile.write(to: path) { fd in
                // fclose closes only the duplicate; AtomicFile syncs and closes its own descriptor.
                guard let stream = fdopen(dup(fd), "wb") else {
                    throw ImageIOError(path: path, message: "cannot write: \(systemError())")
                }
                let written = png_image_write_to_stdio(&image, stream, 0, pixels, 0, nil)
                let closed = fclose(stream)
                guard written != 0 else {
                    throw ImageIOError(path: path, message: "cannot write: \(libpngError(image, path: path).message)")
                }
                guard closed == 0 else { throw ImageIOError(path: path, message: "cannot write: \(systemError())") }
            }
        } catch let error as FileOutputError {
            throw ImageIOError(path: path, message: "cannot write: \(error.reason)")
        }
    }
}
