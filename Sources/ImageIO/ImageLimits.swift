import Foundation

/// The largest image any decoder accepts, checked from the header before pixel memory is allocated,
/// so a small hostile file cannot claim gigabytes (a 334-byte PNG can declare 16384 x 16384 RGBA16).
/// 100 megapixels covers industrial cameras (a 16-bit RGBA decode of that size needs 800 MB);
/// STPM_MAX_PIXELS raises or lowers it for every command.
public enum ImageLimits {
    public static let defaultMaxPixels = 100_000_000
    public static let environmentVariable = "STPM_MAX_PIXELS"

    /// The limit in force: STPM_MAX_PIXELS when set, else the default.
    public static func maxPixels() throws -> Int {
        // getenv, not ProcessInfo's environment, which builds a dictionary of the whole environment on
        // every call: asked once or twice per image, that was 0.5 % of `stpm score`'s CPU time.
        guard let variable = getenv(environmentVariable) else { return defaultMaxPixels }
        let text = String(cString: variable)
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), value > 0 else {
            throw ImageIOError(path: environmentVariable, message: "'\(text)' is not a positive whole number of pixels")
        }
        return value
    }

    /// Files beyond this cannot be an image within the limit: 16-bit RGBA uncompressed plus room for metadata.
    static func maxFileBytes() throws -> Int {
        let pixels = try maxPixels()
        return pixels > (Int.max - (64 << 20)) / 8 ? Int.max : pixels * 8 + (64 << 20)
    }

    static var explanation: String {
        "\((try? maxPixels()) ?? defaultMaxPixels) pixels; set \(environmentVariable) to change it"
    }

    /// Throws, naming the file, unless the declared size is positive and within the limit.
    static func check(width: Int, height: Int, path: String) throws {
        guard width > 0, height > 0 else {
            throw ImageIOError(path: path, message: "image declares an empty size \(width)x\(height)")
        }
        let limit = try maxPixels()
        guard width <= limit, height <= limit, width * height <= limit else {
            throw ImageIOError(path: path, message: "image is \(width)x\(height), over the limit of \(limit) pixels "
                               + "(set \(environmentVariable) to allow larger images)")
        }
    }
}
