import ImageIO

/// The pieces of an export panel: masks as images, their outlines drawn onto an image, and images side by side.
public enum OverlayPanels {
    /// Outline colours: prediction red, ground truth green (distinguishable on the jet-free image panel).
    public static let predictedColor: (UInt8, UInt8, UInt8) = (255, 32, 32)
    public static let truthColor: (UInt8, UInt8, UInt8) = (32, 255, 32)

    /// Predicted defect pixels: map >= threshold. The image threshold applied per pixel, so an image is
    /// flagged exactly when its predicted mask is non-empty (its score is the map's max).
    public static func predictedMask(map: [Float], threshold: Float) -> [Bool] {
        map.map { $0 >= threshold }
    }

    /// 0 / 255 gray image of a square mask.
    public static func maskImage(_ mask: [Bool], size: Int) -> Image8 {
        Image8(width: size, height: size, channels: 1, pixels: mask.map { $0 ? 255 : 0 })
    }

    /// The boundary of a row-major `mask`: indices of mask pixels with a 4-neighbour outside the mask or
    /// on the image border. The one outline of the exported panels and the console's inspector.
    public static func outline(_ mask: [Bool], width w: Int, height h: Int) -> [Int] {
        precondition(mask.count == w * h, "outline: \(mask.count) mask pixels for \(w)x\(h)")
        return (0..<(w * h)).filter { i in
            guard mask[i] else { return false }
            let x = i % w, y = i / w
            return x == 0 || y == 0 || x == w - 1 || y == h - 1 || !mask[i - 1] || !mask[i + 1] || !mask[i - w] || !mask[i + w]
        }
    }

    /// Colours the outline of `mask` on `image`.
    public static func drawOutline(_ mask: [Bool], on image: inout Image8, color: (UInt8, UInt8, UInt8)) {
        precondition(image.channels == 3, "drawOutline: an RGB image")
        for i in outline(mask, width: image.width, height: image.height) {
            image.pixels[i * 3] = color.0; image.pixels[i * 3 + 1] = color.1; image.pixels[i * 3 + 2] = color.2
        }
    }

    /// RGB images of one height placed left to right with a dark `gap` between them.
    public static func sideBySide(_ images: [Image8], gap: Int = 4) -> Image8 {
        let h = images[0].height
        precondition(images.allSatisfy { $0.height == h && $0.channels == 3 }, "sideBySide: RGB images of one height")
        let w = images.map(\.width).reduce(0, +) + gap * (images.count - 1)
        var out = Image8(width: w, height: h, channels: 3, pixels: [UInt8](repeating: 40, count: w * h * 3))
        var x0 = 0
        for image in images {
            for y in 0..<h {
                let src = y * image.width * 3, dst = (y * w + x0) * 3
                out.pixels.replaceSubrange(dst..<(dst + image.width * 3), with: image.pixels[src..<(src + image.width * 3)])
            }
            x0 += image.width + gap
        }
        return out
    }
}
