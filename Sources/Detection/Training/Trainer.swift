import Foundation
import Numerics
import Backbones
import ImageIO

public struct TrainingProgress: Sendable {
    public var epoch: Int
    public var epochs: Int
    public var step: Int
    public var stepsPerEpoch: Int
    public var levelLosses: [Double]
    public var total: Double { levelLosses.reduce(0, +) }
    public var imagesPerSecond: Double
    public var secondsRemaining: Double
}

public struct EpochSummary: Sendable {
    public var epoch: Int
    /// Mean anomaly-map value on the held-out normal images (lower is better), nil without a split.
    public var validationScore: Double?
    public var isBest: Bool
    public var seconds: Double
}

public enum TrainingEvent: Sendable {
    case message(String)
    case step(TrainingProgress)
    case epoch(EpochSummary)
}

public enum TrainingOutcome: Sendable, Equatable {
    case finished(bestEpoch: Int?)
    case interrupted(epoch: Int, step: Int)
}

/// Trains an STPM student on normal images, following the official recipe: teacher frozen in eval
/// mode, student in train mode, SGD, the best epoch chosen by the mean anomaly score on held-out
/// normal images (never on test anomalies). Writes everything into a model directory as it goes.
public final class Trainer {
    let options: TrainingOptions
    let store: ModelStore
    let imagePaths: [String]
    let resume: Bool

    public init(imagePaths: [String], options: TrainingOptions, store: ModelStore, resume: Bool) {
        self.imagePaths = imagePaths; self.options = options; self.store = store; self.resume = resume
    }

    /// The held-out split: a seeded shuffle of the normal images, the first fraction held out.
    static func split(count: Int, fraction: Double, seed: UInt64) -> (train: [Int], validation: [Int]) {
        var rng = SplitMix64(seed: seed ^ 0x5eed_5eed)
        var order = Array(0..<count)
        shuffle(&order, &rng)
        var held = Int((Double(count) * fraction).rounded())
        if fraction > 0 { held = max(1, min(held, count - 1)) }
        return (Array(order[held...]).sorted(), Array(order[..<held]).sorted())
    }

    static func shuffle(_ a: inout [Int], _ rng: inout SplitMix64) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
    }

    @discardableResult
    public func run(control: TrainingControl = TrainingControl(), events: (TrainingEvent) -> Void) throws -> TrainingOutcome {
        try options.validate()
        guard imagePaths.count >= 2 else { throw TrainingError.tooFewImages(imagePaths.count) }
        // A config without a checkpoint is a run that never finished an epoch: starting over loses nothing.
        let hasCheckpoint = FileManager.default.fileExists(atPath: store.checkpointFile)
        if store.exists && hasCheckpoint && !resume { throw TrainingError.modelExists(store.path) }
        if resume && !hasCheckpoint {
            throw TrainingError.checkpoint("\(store.path) has no checkpoint to resume from")
        }
        try store.create()
        let kind = options.backbone
        let weightsPath = try TeacherWeights.locate(kind, override: options.teacherWeights)
        let weightsHash = try SHA256.hex(ofFile: weightsPath)
        if resume, let old = try? store.loadConfig() {
            guard old.backbone == kind, old.size == options.size, old.teacherWeightsSHA256 == weightsHash else {
                throw TrainingError.checkpoint("\(store.path) was trained with \(old.backbone.rawValue) at \(old.size)px and other teacher weights; resume with the same options")
            }
        }
        let teacher = kind.make(role: .teacher)
        try teacher.load(from: SafetensorsFile(path: weightsPath))

        let (trainIdx, valIdx) = Self.split(count: imagePaths.count, fraction: options.validationFraction, seed: options.seed)
        events(.message("loading \(imagePaths.count) normal images at \(options.size)x\(options.size) (\(trainIdx.count) train, \(valIdx.count) held out)"))
        let images = try imagePaths.map { try ImagePreparation.load($0, size: options.size) }
        let trainCache = TeacherFeatureCache(teacher: teacher, images: trainIdx.map { images[$0] })
        let valCache = TeacherFeatureCache(teacher: teacher, images: valIdx.map { images[$0] })
        events(.message(String(format: "teacher features cached in memory: %.0f MB", Double(trainCache.bytes + valCache.bytes) / 1e6)))

        let student = kind.make(role: .student)
        StudentInit.initialize(student, seed: options.seed)
        var checkpoint = Checkpoint(epoch: 0, step: 0, rng: SplitMix64(seed: options.seed &+ 1), order: [],
                                    bestEpoch: nil, bestScore: nil)
        var best: [(name: String, shape: [Int], values: [Float])] = []
        if resume {
            (checkpoint, best) = try Checkpoint.load(from: store.checkpointFile, into: student)
            events(.message("resuming at epoch \(checkpoint.epoch + 1), step \(checkpoint.step)"))
        }
        var config = ModelConfig(backbone: kind, tapChannels: kind.tapChannels, size: options.size,
                                 normalization: kind.normalizationDescription, teacherWeights: weightsPath,
                                 teacherWeightsSHA256: weightsHash, training: options, trainImages: trainIdx.count,
                                 validationImages: valIdx.count, bestEpoch: checkpoint.bestEpoch,
                                 bestValidationScore: checkpoint.bestScore, threshold: (try? store.loadConfig())?.threshold)
        try store.save(config)
        let log = try TrainingLog(store: store, keepSteps: checkpoint.epoch * stepsPerEpoch(trainIdx.count) + checkpoint.step,
                                  keepEpochs: checkpoint.epoch)

        let loss = PyramidLoss()
        let sgd = SGD(learningRate: options.learningRate, momentum: options.momentum, weightDecay: options.weightDecay)
        let input = Tensor(c: 0, n: 0, h: 0, w: 0)
        let teacherBatch = [Tensor(c: 0, n: 0, h: 0, w: 0), Tensor(c: 0, n: 0, h: 0, w: 0), Tensor(c: 0, n: 0, h: 0, w: 0)]
        let parameters = student.parameters
        let steps = stepsPerEpoch(trainIdx.count)
        let started = Date()
        var imagesSeen = 0
        student.setTraining(true)

        for epoch in checkpoint.epoch..<options.epochs {
            let epochStart = Date()
            for step in checkpoint.step..<steps {
                while control.paused && !control.stopRequested { Thread.sleep(forTimeInterval: 0.1) }
                if control.stopRequested {
                    checkpoint.epoch = epoch; checkpoint.step = step
                    try checkpoint.save(student: student, best: best, to: store.checkpointFile)
                    try log.flush()
                    events(.message("stopped at epoch \(epoch + 1), step \(step); checkpoint saved, continue with --resume"))
                    return .interrupted(epoch: epoch, step: step)
                }
                // Shuffled only after the stop check: a stop at step 0 must save the random state the
                // resumed run shuffles this epoch with.
                if step == 0 {
                    checkpoint.order = Array(0..<trainIdx.count)
                    Self.shuffle(&checkpoint.order, &checkpoint.rng)
                }
                let batch = Array(checkpoint.order[(step * options.batchSize)..<min((step + 1) * options.batchSize, trainIdx.count)])
                ImagePreparation.fill(input, with: batch.map { images[trainIdx[$0]] }, kind: kind)
                trainCache.fill(teacherBatch, indices: batch)
                let levels = loss.forwardBackward(teacher: teacherBatch, student: student.forward(input))
                student.backward(tapGrads: loss.studentGrads)
                sgd.step(parameters)
                imagesSeen += batch.count
                try log.step(epoch: epoch, step: step, globalStep: epoch * steps + step, losses: levels)
                let rate = Double(imagesSeen) / max(Date().timeIntervalSince(started), 1e-9)
                let remaining = Double((options.epochs - epoch - 1) * trainIdx.count + (trainIdx.count - (step + 1) * options.batchSize)) / rate
                events(.step(TrainingProgress(epoch: epoch, epochs: options.epochs, step: step + 1, stepsPerEpoch: steps,
                                              levelLosses: levels, imagesPerSecond: rate, secondsRemaining: max(remaining, 0))))
            }
            checkpoint.step = 0
            try log.flush()

            var score: Double? = nil
            var isBest = false
            var heldOutScores: [Float] = []
            if !valIdx.isEmpty {
                student.setTraining(false)
                let meanMap: Double
                (meanMap, heldOutScores) = Self.validate(student: student, images: valIdx.map { images[$0] }, cache: valCache,
                                                 kind: kind, size: options.size)
                student.setTraining(true)
                score = meanMap
                isBest = checkpoint.bestScore.map { meanMap < $0 } ?? true
            } else {
                isBest = true
            }
            if isBest {
                checkpoint.bestEpoch = epoch + 1
                checkpoint.bestScore = score
                best = student.stateTensors()
                try SafetensorsFile.write(best, metadata: ["backbone": kind.rawValue, "epoch": String(epoch + 1),
                                                           "format": "stpm student, torch names"], to: store.studentFile)
                // Without a held-out split the training images stand in for normal images; scoring them
                // all every epoch would cost a second pass, so that happens after the last epoch only.
                let normal = !valIdx.isEmpty ? heldOutScores
                    : epoch + 1 == options.epochs ? try normalScores(student: student, images: trainIdx.map { images[$0] },
                                                                     cache: trainCache, kind: kind) : nil
                if let normal {
                    try store.saveNormalScores(normal)
                    if config.threshold == nil || config.threshold?.choice != .manual {
                        config.threshold = try? percentileThreshold(normalScores: normal, percentile: 99)
                    }
                }
                config.bestEpoch = epoch + 1
                config.bestValidationScore = score
                try store.save(config)
            }
            if options.snapshotEpochs.contains(epoch + 1) {
                try SafetensorsFile.write(student.stateTensors(), metadata: ["backbone": kind.rawValue, "epoch": String(epoch + 1)],
                                          to: store.snapshotFile(epoch: epoch + 1))
            }
            let summary = EpochSummary(epoch: epoch + 1, validationScore: score, isBest: isBest,
                                       seconds: Date().timeIntervalSince(epochStart))
            try log.epoch(summary)
            checkpoint.epoch = epoch + 1
            try checkpoint.save(student: student, best: best, to: store.checkpointFile)
            events(.epoch(summary))
        }
        return .finished(bestEpoch: checkpoint.bestEpoch)
    }

    func stepsPerEpoch(_ n: Int) -> Int { (n + options.batchSize - 1) / options.batchSize }

    /// Mean of the anomaly maps and the per-image scores of `images` under the current student
    /// (which must be in eval mode).
    static func validate(student: FeatureExtractor, images: [Image8], cache: TeacherFeatureCache, kind: BackboneKind,
                         size: Int) -> (mean: Double, scores: [Float]) {
        let mapper = AnomalyMapper(height: size, width: size)
        let input = Tensor(c: 0, n: 0, h: 0, w: 0)
        let teacherBatch = [Tensor(c: 0, n: 0, h: 0, w: 0), Tensor(c: 0, n: 0, h: 0, w: 0), Tensor(c: 0, n: 0, h: 0, w: 0)]
        var total = 0.0
        var scores: [Float] = []
        for start in stride(from: 0, to: images.count, by: 8) {
            let idx = Array(start..<min(start + 8, images.count))
            ImagePreparation.fill(input, with: idx.map { images[$0] }, kind: kind)
            cache.fill(teacherBatch, indices: idx)
            let (maps, _) = mapper.compute(teacher: teacherBatch, student: student.forward(input))
            total += maps.reduce(0.0) { $0 + Double($1) }
            scores += mapper.scores()
        }
        return (total / Double(images.count * size * size), scores)
    }

    func normalScores(student: FeatureExtractor, images: [Image8], cache: TeacherFeatureCache, kind: BackboneKind) throws -> [Float] {
        student.setTraining(false)
        defer { student.setTraining(true) }
        return Self.validate(student: student, images: images, cache: cache, kind: kind, size: options.size).scores
    }
}
