import ImageIO

/// The one labelling rule, shared by evaluation, thresholds, export and the console.
///
/// A test image is defective when its ground-truth mask, as stored (before any resizing), has a nonzero
/// pixel, so an empty mask labels an image good even in a defect folder. An image without a mask is
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
    }

    /// Reads the sample's mask (the error names the file); `size` is the model resolution of the returned mask.
    public static func truth(of sample: DatasetSample, size: Int) throws -> Truth {
        let stored = try sample.maskPath.map { try ImageReader.read(path: $0, as: .gray) }
        let mask = stored.map { m in
            (m.width == size && m.height == size ? m : m.resizedNearest(width: size, height: size)).pixels.map { $0 != 0 }
        }
        let defective = rule(sample, stored)
        return Truth(isDefective: defective, mask: mask ?? (defective ? nil : [Bool](repeating: false, count: size * size)))
    }

    /// The label alone (reads the mask when there is one); nil for training images.
    public static func isDefective(_ sample: DatasetSample) throws -> Bool? {
        guard sample.split == .test else { return nil }
        return rule(sample, try sample.maskPath.map { try ImageReader.read(path: $0, as: .gray) })
    }

    private static func rule(_ sample: DatasetSample, _ mask: Image8?) -> Bool {
        mask.map { $0.pixels.contains { $0 != 0 } } ?? (sample.defectType != "good")
    }
}
