import Foundation
import Numerics
import Backbones
import ImageIO

/// The normal images of a run, loaded once at the model size and split into the images the
/// student trains on and those held out for choosing the best epoch, each with its teacher
/// features cached.
final class TrainingData {
    let images: [Image8]
    let train: [Int]
    let validation: [Int]
    let trainCache: TeacherFeatureCache
    let validationCache: TeacherFeatureCache

    init(imagePaths: [String], options: TrainingOptions, teacher: FeatureExtractor, events: (TrainingEvent) -> Void) throws {
        let (train, validation) = Self.split(count: imagePaths.count, fraction: options.validationFraction, seed: options.seed)
        events(.message("loading \(imagePaths.count) normal images at \(options.size)x\(options.size) (\(train.count) train, \(validation.count) held out)"))
        let images = try imagePaths.map { try ImagePreparation.load($0, size: options.size) }
        trainCache = TeacherFeatureCache(teacher: teacher, images: train.map { images[$0] })
        validationCache = TeacherFeatureCache(teacher: teacher, images: validation.map { images[$0] })
        (self.images, self.train, self.validation) = (images, train, validation)
        events(.message(String(format: "teacher features cached in memory: %.0f MB", Double(trainCache.bytes + validationCache.bytes) / 1e6)))
    }

    var trainImages: [Image8] { train.map { images[$0] } }
    var validationImages: [Image8] { validation.map { images[$0] } }

    /// The held-out split: a seeded shuffle of the normal images, the first fraction held out.
    static func split(count: Int, fraction: Double, seed: UInt64) -> (train: [Int], validation: [Int]) {
        var rng = SplitMix64(seed: seed ^ 0x5eed_5eed)
        var order = Array(0..<count)
        shuffle(&order, &rng)
        var held = Int((Double(count) * fraction).rounded())
        if fraction > 0 { held = max(1, min(held, count - 1)) }
        return (Array(order[held...]).sorted(), Array(order[..<held]).sorted())
    }

    /// Fisher-Yates with `rng`, which advances by one draw per element but the first.
    static func shuffle(_ a: inout [Int], _ rng: inout SplitMix64) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
    }

    /// An epoch's order of the training images (positions in `train`).
    func epochOrder(_ rng: inout SplitMix64) -> [Int] {
        var order = Array(0..<train.count)
        Self.shuffle(&order, &rng)
        return order
    }
}
