/// What a caller wants from any image: RGB (gray expanded) or gray (Pillow's luma).
public enum PixelFormat: Sendable {
    case rgb
    case gray
}

/// The one way stpm reads an image, whatever its format: the type is decided by the file's first bytes,
/// never by its extension, and the pixels are those of Pillow's `Image.open(p).convert('RGB' | 'L')`
/// except where the format's reader says otherwise (16-bit samples, corrupt data).
public enum ImageReader {
    public enum Format: String, Sendable, CaseIterable {
        case png = "PNG", jpeg = "JPEG", tiff = "TIFF", bmp = "BMP"
    }

    /// File name extensions of the formats, for listing folders (decoding never trusts them).
    public static let fileExtensions: Set<String> = ["png", "jpg", "jpeg", "tif", "tiff", "bmp"]

    public static func read(path: String, as format: PixelFormat = .rgb) throws -> Image8 {
        try decode(try readWholeFile(path, limit: try ImageLimits.maxFileBytes()), path: path, as: format)
    }

    /// Decodes a file's bytes; `path` only names it in errors.
    public static func decode(_ bytes: [UInt8], path: String, as format: PixelFormat = .rgb) throws -> Image8 {
        let decoded: Image8
        switch self.format(of: bytes) {
        case .png: decoded = try PNGFile.decode(bytes, path: path)
        case .jpeg: decoded = try JPEGFile.decode(bytes, path: path)
        case .tiff: decoded = try TIFFFile.decode(bytes, path: path)
        case .bmp: decoded = try BMPFile.decode(bytes, path: path)
        case nil:
            let start = bytes.prefix(8).map { String($0, radix: 16).leftPadded(to: 2) }.joined(separator: " ")
            throw ImageIOError(path: path, message: bytes.isEmpty ? "file is empty"
                               : "not a PNG, JPEG, TIFF or BMP image (it starts with bytes \(start))")
        }
        return format == .rgb ? decoded.toRGB() : decoded.toGray()
    }

    /// The format named by the file's signature.
    public static func format(of bytes: [UInt8]) -> Format? {
        func starts(_ prefix: [UInt8]) -> Bool { bytes.count >= prefix.count && Array(bytes.prefix(prefix.count)) == prefix }
        if starts(PNGChunks.signature) { return .png }
        if starts([0xFF, 0xD8, 0xFF]) { return .jpeg }
        // Classic TIFF (42) and BigTIFF (43), little- and big-endian.
        if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A])
            || starts([0x49, 0x49, 0x2B, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2B]) { return .tiff }
        if starts([0x42, 0x4D]) { return .bmp }
        return nil
    }

    /// Whether a folder listing should offer `name` as an image.
    public static func hasImageExtension(_ name: String) -> Bool {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return false }
        return fileExtensions.contains(name[name.index(after: dot)...].lowercased())
    }
}

private extension String {
    func leftPadded(to length: Int) -> String { String(repeating: "0", count: max(0, length - count)) + self }
}
