import ArgumentParser
import Backbones
import Detection
import Numerics

/// The training options shared by `stpm train` and `stpm console --train`, with the official STPM
/// recipe as defaults.
struct TrainingArguments: ParsableArguments {
    @Option(help: "Teacher backbone.") var backbone = BackboneKind.efficientnetLite0
    @Option(help: "Teacher weights (safetensors); default: the fetched file for the backbone.") var teacherWeights: String?
    @Option(help: "Input size (square, multiple of 16).") var size = 256
    @Option var epochs = 100
    @Option(help: "Batch size.") var batch = 32
    @Option(help: "SGD learning rate.") var lr: Float = 0.4
    @Option var momentum: Float = 0.9
    @Option var weightDecay: Float = 1e-4
    @Option(help: "Fraction of train/good held out to choose the best epoch.") var valFraction = 0.2
    @Option var seed: UInt64 = 0
    @Option(help: "Also save the student after these epochs (comma-separated), e.g. 25,50,75.") var snapshotEpochs = ""
    @OptionGroup var threading: ThreadArguments

    /// Validated options; also applies --threads to the process.
    func options() throws -> TrainingOptions {
        threading.apply()
        var o = TrainingOptions()
        o.backbone = backbone
        o.teacherWeights = teacherWeights
        o.size = size
        o.epochs = epochs
        o.batchSize = batch
        o.learningRate = lr
        o.momentum = momentum
        o.weightDecay = weightDecay
        o.validationFraction = valFraction
        o.seed = seed
        o.snapshotEpochs = try snapshotEpochs.split(separator: ",").map {
            guard let e = Int($0.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--snapshot-epochs: '\($0)' is not an epoch number")
            }
            return e
        }
        try o.validate()
        return o
    }
}
