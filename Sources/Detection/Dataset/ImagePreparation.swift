import ImageIO
import Numerics
import Backbones

/// Images as the networks see them: RGB (gray expanded), resized to the model size with Pillow's
/// bilinear filter (what the reference training used), kept as bytes until a batch is built.
public enum ImagePreparation {
    public static func load(_ path: String, size: Int) throws -> Image8 {
        resized(try loadSource(path), size: size)
    }

    /// The file as RGB at its own size.
    public static func loadSource(_ path: String) throws -> Image8 {
        try ImageReader.read(path: path, as: .rgb)
    }

    public static func resized(_ image: Image8, size: Int) -> Image8 {
        image.width == size && image.height == size ? image : image.resizedBilinear(width: size, height: size)
    }

    /// Fills `batch` (reshaped to 3 x images.count x size x size) with the images, normalised for `kind`.
    public static func fill(_ batch: Tensor, with images: [Image8], kind: BackboneKind) {
        let size = images[0].width
        batch.resize(c: 3, n: images.count, h: size, w: size)
        let plane = size * size, data = batch.data
        for image in images {
            precondition(image.width == size && image.height == size && image.channels == 3, "batch images must share one RGB size")
        }
        // One image per part: the cores convert a training batch side by side (a step's serial tail otherwise).
        parallelFor(images.count, work: batch.count) { range in
            for n in range {
                images[n].copyPlanes(red: data + n * plane, green: data + (images.count + n) * plane,
                                     blue: data + (2 * images.count + n) * plane)
            }
        }
        kind.normalize(batch)
    }
}
