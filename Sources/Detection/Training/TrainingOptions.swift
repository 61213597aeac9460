import Backbones

/// The official STPM recipe as defaults.
public struct TrainingOptions: Codable, Equatable, Sendable {
    public var backbone: BackboneKind = .efficientnetLite0
    public var size = 256
    public var epochs = 100
    public var batchSize = 32
    public var learningRate: Float = 0.4
    public var momentum: Float = 0.9
    public var weightDecay: Float = 1e-4
    public var validationFraction = 0.2
    public var seed: UInt64 = 0
    public var teacherWeights: String?
    /// Epochs after which the student is also saved as student_epochN.safetensors, to compare epochs later.
    public var snapshotEpochs: [Int] = []

    public init() {}

    /// Keys missing from an older config.json keep their defaults, so models trained by earlier
    /// versions still load.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var o = TrainingOptions()
        o.backbone = try c.decodeIfPresent(BackboneKind.self, forKey: .backbone) ?? o.backbone
        o.size = try c.decodeIfPresent(Int.self, forKey: .size) ?? o.size
        o.epochs = try c.decodeIfPresent(Int.self, forKey: .epochs) ?? o.epochs
        o.batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? o.batchSize
        o.learningRate = try c.decodeIfPresent(Float.self, forKey: .learningRate) ?? o.learningRate
        o.momentum = try c.decodeIfPresent(Float.self, forKey: .momentum) ?? o.momentum
        o.weightDecay = try c.decodeIfPresent(Float.self, forKey: .weightDecay) ?? o.weightDecay
        o.validationFraction = try c.decodeIfPresent(Double.self, forKey: .validationFraction) ?? o.validationFraction
        o.seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? o.seed
        o.teacherWeights = try c.decodeIfPresent(String.self, forKey: .teacherWeights)
        o.snapshotEpochs = try c.decodeIfPresent([Int].self, forKey: .snapshotEpochs) ?? o.snapshotEpochs
        self = o
    }

    /// Batches per epoch over `trainImages` images, the last one possibly short.
    public func stepsPerEpoch(trainImages: Int) -> Int { (trainImages + batchSize - 1) / max(batchSize, 1) }
}

public enum TrainingError: Error, CustomStringConvertible {
    case badOption(String)
    case tooFewImages(Int)
    case modelExists(String)
    case checkpoint(String)
    case diverged(epoch: Int, step: Int, learningRate: Float, bestEpoch: Int?, folder: String)

    public var description: String {
        switch self {
        case .badOption(let m): m
        case .tooFewImages(let n): "training needs at least 2 normal images in train/good (found \(n))"
        case .modelExists(let p): "\(p) already holds a trained model: pass --resume to continue it or choose another --out"
        case .checkpoint(let m): m
        case let .diverged(epoch, step, lr, best, folder):
            "training diverged at epoch \(epoch), step \(step): the loss is no longer a finite number. "
                + (best.map { "\(folder) keeps epoch \($0), the best finite one. " } ?? "\(folder) holds no trained student. ")
                + "Train again with a lower learning rate, e.g. --lr \(formatScore(lr / 10)) (this run: --lr \(formatScore(lr))), "
                + "into a new --out"
        }
    }
}
