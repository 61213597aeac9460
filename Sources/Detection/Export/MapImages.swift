import Foundation
import ImageIO

/// The per-image pictures of `stpm score --maps`, at model resolution: <stem>_overlay.png (the image
/// blended with the jet colours of map / scale) and <stem>_map16.png (16-bit gray, map / scale x 65535).
public enum MapImages {
    /// Creates `folder` when it is missing.
    public static func prepare(_ folder: String) throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    /// Writes both pictures of one scored image into `folder`; returns their file names.
    public static func write(_ scored: ImageScore, scale: Float, stem: String, into folder: String) throws -> [String] {
        let names = [stem + "_overlay.png", stem + "_map16.png"]
        try PNGFile.write(OverlayHeatmap.overlay(image: scored.image, map: scored.map, scale: scale), path: folder + "/" + names[0])
        try PNGFile.writeGray16(values: OverlayHeatmap.gray16(map: scored.map, scale: scale),
                                width: scored.image.width, height: scored.image.height, path: folder + "/" + names[1])
        return names
    }
}
