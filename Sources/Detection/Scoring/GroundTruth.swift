import ImageIO

public enum MaskError: Error, CustomStringConvertible {
    case sizeMismatch(mask: String, maskWidth: Int, maskHeight: Int, width: Int, height: Int)

    public var description: String {
        switch self {
        case let .sizeMismatch(mask, mw, mh, w, h):
            "\(mask) is \(mw)x\(mh) but its image is \(w)x\(h); a ground-truth mask must have its image's size"
        }
    }
}

/// The one labelling rule, shared by evaluation, thresholds, export and the console.
///
/// A test image is defective when its ground-truth mask, as stored (before any resizing), has a defect
/// pixel, so an empty mask labels an image good even in a defect folder. A mask pixel is defect above 127,
/// as MVTec AD's evaluation binarises: JPEG-like noise (background 1, defect 128) gives the intended mask
/// rather than an all-defect one. An image without a mask is
/// labelled by its folder: defective unless it lies in test/good. Training images carry no label: scores
/// of images the student was fitted on say little about the model.
///
/// The label is read at the mask's own resolution, so it does not depend on the model size: a defect of
/// a few pixels can vanish when a mask is shrunk to 64 px, and would otherwise turn the image good.
public enum GroundTruth {
    /// Label and model-resolution mask of one test sample; the mask file is read once.
    public struct Truth: Sendable {
        public var isDefective: Bool
        /// At model resolution (nearest neighbour); all false for good images, nil for a defect-folder image without mask.
        public var mask: [Bool]?
        /// The mask file holds values other than 0 and 255.
        public var nonBinary = false
    }

    /// Reads the sample's mask (the error names the file); `size` is the model resolution of the returned mask.
    /// A mask whose size differs from its image's (`imageWidth` x `imageHeight`) is an error naming it:
    /// stretching it would move the defect.
    public static func truth(of sample: DatasetSample, size: Int, imageWidth: Int, imageHeight: Int) throws -> Truth {
        let stored = try sample.maskPath.map { try ImageReader.read(path: $0, as: .gray) }
        if let m = stored, let path = sample.maskPath, m.width != imageWidth || m.height != imageHeight {
            throw MaskError.sizeMismatch(mask: path, maskWidth: m.width, maskHeight: m.height, width: imageWidth, height: imageHeight)
        }
        let mask = stored.map { m in
            defects((m.width == size && m.height == size ? m : m.resizedNearest(width: size, height: size)).pixels)
        }
        let stats = stored.map { values(of: $0.pixels) }
        let defective = rule(sample, maskHasDefect: stats?.defect)
        return Truth(isDefective: defective, mask: mask ?? (defective ? nil : [Bool](repeating: false, count: size * size)),
                     nonBinary: stats?.nonBinary ?? false)
    }

    static func isDefect(_ pixel: UInt8) -> Bool { pixel > 127 }

    /// `isDefect` of each pixel. This and `values(of:)` run over every test image's mask in an evaluation;
    /// Swift's `map` and `contains` with a closure took 0.1 ms of a tire mask, these loops vectorise.
    static func defects(_ pixels: [UInt8]) -> [Bool] {
        [Bool](unsafeUninitializedCapacity: pixels.count) { out, initialized in
            pixels.withUnsafeBufferPointer { pixels in
                for i in pixels.indices { out[i] = isDefect(pixels[i]) }
            }
            initialized = pixels.count
        }
    }

    /// Whether the mask holds a defect pixel (`isDefect`), and a value other than 0 and 255, in one pass.
    static func values(of pixels: [UInt8]) -> (defect: Bool, nonBinary: Bool) {
        pixels.withUnsafeBufferPointer { pixels in
            var defect: UInt8 = 0, between: UInt8 = 0
            for v in pixels {
                defect |= isDefect(v) ? 1 : 0
                // 0 and 255 wrap to 1 and 0; every other value lands above 1.
                between |= v &+ 1 > 1 ? 1 : 0
            }
            return (defect != 0, between != 0)
        }
    }

    /// The label alone (reads the mask when there is one); nil for training images.
    public static func isDefective(_ sample: DatasetSample) throws -> Bool? {
        guard sample.split == .test else { return nil }
        return rule(sample, maskHasDefect: try sample.maskPath.map { values(of: try ImageReader.read(path: $0, as: .gray).pixels).defect })
    }

    private static func rule(_ sample: DatasetSample, maskHasDefect: Bool?) -> Bool {
        maskHasDefect ?? (sample.defectType != "good")
    }
}
