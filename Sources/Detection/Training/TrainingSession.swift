import Crypto
import Foundation
import Numerics
import Backbones

/// One training run of a model folder, following the official STPM recipe: teacher frozen in eval
/// mode, student in train mode, SGD, the best epoch chosen by the mean anomaly score on held-out
/// normal images (never on test anomalies).
///
/// Opening a session decides whether it starts or resumes and prepares the run; `step()` and
/// `endEpoch()` advance it; `run()` is the loop, which honours pause and stop between steps.
/// Everything reaches the folder as it happens (logs, best student, config, checkpoint), and
/// `replay(_:)` reads the logs back for a face that re-opens the folder.
public final class TrainingSession {
    public let store: ModelStore
    public let options: TrainingOptions
    public let control: TrainingControl
    private let publish: (TrainingEvent) -> Void
    private let data: TrainingData
    private let sgdStep: TrainingStep
    private var checkpoint: Checkpoint
    /// The best epoch's student state, kept for the checkpoint.
    private var best: [NamedTensor]
    private var config: ModelConfig
    private let log: TrainingLog
    private let input = Tensor(c: 0, n: 0, h: 0, w: 0)
    private var started = Date()
    private var epochStarted = Date()
    private var imagesSeen = 0

    public var stepsPerEpoch: Int { options.stepsPerEpoch(trainImages: data.train.count) }
    /// Epochs done, and steps done of the next one.
    public var position: (epoch: Int, step: Int) { (checkpoint.epoch, checkpoint.step) }
    public var isFinished: Bool { checkpoint.epoch >= options.epochs }

    /// Opens `store` for training on `imagePaths`: refuses what cannot start or resume (`check`,
    /// then other teacher weights), then loads the images, caches the teacher's features and
    /// initialises the student, or restores it from the checkpoint.
    public init(store: ModelStore, imagePaths: [String], options: TrainingOptions, resume: Bool,
                control: TrainingControl = TrainingControl(), events: @escaping (TrainingEvent) -> Void = { _ in }) throws {
        try Self.check(store: store, imageCount: imagePaths.count, options: options, resume: resume)
        self.store = store; self.options = options; self.control = control; publish = events
        let madeFolder = try store.create()
        let weights: String, weightsSHA256: String
        do {
            weights = try TeacherWeights.locate(options.backbone, override: options.teacherWeights)
            weightsSHA256 = try SHA256.hex(ofFile: weights)
            if resume { try Self.checkSameTeacher(store: store, sha256: weightsSHA256) }
            let teacher = try TeacherWeights.loadTeacher(options.backbone, override: weights)
            data = try TrainingData(imagePaths: imagePaths, options: options, teacher: teacher, events: events)
        } catch {
            if madeFolder { store.removeIfEmpty() }
            throw error
        }
        let student = options.backbone.make(role: .student)
        (checkpoint, best) = try Self.startingPoint(student: student, store: store, options: options, resume: resume)
        if resume { events(.message("resuming at epoch \(checkpoint.epoch + 1), step \(checkpoint.step)")) }
        sgdStep = TrainingStep(student: student, options: options)
        let previous = try? store.loadConfig()
        config = ModelConfig(backbone: options.backbone, tapChannels: options.backbone.tapChannels, size: options.size,
                             normalization: options.backbone.normalizationDescription, teacherWeights: weights,
                             teacherWeightsSHA256: weightsSHA256, training: options, trainImages: data.train.count,
                             validationImages: data.validation.count, bestEpoch: checkpoint.bestEpoch,
                             bestValidationScore: checkpoint.bestScore, threshold: previous?.threshold,
                             studentSHA256: resume ? previous?.studentSHA256 : nil)
        try store.save(config)
        log = try TrainingLog(store: store, keepSteps: checkpoint.epoch * options.stepsPerEpoch(trainImages: data.train.count) + checkpoint.step,
                              keepEpochs: checkpoint.epoch)
        student.setTraining(true)
        started = Date()
        epochStarted = started
    }

    /// Trains the remaining epochs. Pause holds it between steps; a stop saves a checkpoint there
    /// and returns, so that `resume` continues bit for bit as if nothing had happened.
    @discardableResult
    public func run() throws -> TrainingOutcome {
        while !isFinished {
            if checkpoint.step == stepsPerEpoch {
                try endEpoch()
                continue
            }
            control.waitWhilePaused()
            if control.stopRequested { return try stop() }
            try step()
        }
        return .finished(bestEpoch: checkpoint.bestEpoch)
    }

    /// One SGD step on the epoch's next batch (forward, backward, update), its log line and a
    /// progress event. The epoch's order is drawn at its first step, never before a stop is
    /// honoured: a checkpoint between epochs holds the random state that draws the next order.
    @discardableResult
    public func step() throws -> TrainingProgress {
        precondition(checkpoint.step < stepsPerEpoch && !isFinished, "step past the end of the epoch")
        let (epoch, step) = position
        if step == 0 {
            checkpoint.order = data.epochOrder(&checkpoint.rng)
            epochStarted = Date()
        }
        let batch = nextBatch()
        ImagePreparation.fill(input, with: batch.map { data.images[data.train[$0]] }, kind: options.backbone)
        let levels = sgdStep(input: input, teacher: data.trainCache.batch(batch))
        guard levels.allSatisfy(\.isFinite) else {
            // The student is now NaN: nothing of it is saved, the folder keeps the best finite epoch.
            try log.flush()
            throw TrainingError.diverged(epoch: epoch + 1, step: step + 1, learningRate: options.learningRate,
                                         bestEpoch: checkpoint.bestEpoch, folder: store.path)
        }
        checkpoint.step += 1
        imagesSeen += batch.count
        try log.step(epoch: epoch, step: step, globalStep: epoch * stepsPerEpoch + step, losses: levels)
        let progress = self.progress(epoch: epoch, step: step, levels: levels)
        publish(.step(progress))
        return progress
    }

    /// Closes a finished epoch: held-out validation, best-epoch selection (student, normal scores,
    /// threshold, config), snapshot, its log line and the checkpoint.
    @discardableResult
    public func endEpoch() throws -> EpochSummary {
        precondition(checkpoint.step == stepsPerEpoch, "the epoch has steps left")
        let epoch = checkpoint.epoch
        checkpoint.step = 0
        try log.flush()
        let validation = data.validation.isEmpty ? nil
            : HeldOutScoring.score(student: student, images: data.validationImages, cache: data.validationCache,
                                   kind: options.backbone, size: options.size)
        // A non-finite held-out score (or, without a split, non-finite weights) never becomes the model.
        let finite = validation.map { $0.mean.isFinite } ?? student.state.allSatisfy { $0.values.allSatisfy(\.isFinite) }
        let isBest = finite && (validation.map { v in checkpoint.bestScore.map { v.mean < $0 } ?? true } ?? true)
        if isBest { try keepBest(epoch: epoch + 1, score: validation?.mean, heldOutScores: validation?.scores) }
        if options.snapshotEpochs.contains(epoch + 1) {
            try SafetensorsFile.write(student.stateTensors(), metadata: ["backbone": options.backbone.rawValue, "epoch": String(epoch + 1)],
                                      to: store.snapshotFile(epoch: epoch + 1))
        }
        let summary = EpochSummary(epoch: epoch + 1, validationScore: validation?.mean, isBest: isBest,
                                   seconds: Date().timeIntervalSince(epochStarted))
        try log.epoch(summary)
        checkpoint.epoch = epoch + 1
        try checkpoint.save(student: student, best: best, to: store.checkpointFile)
        publish(.epoch(summary))
        return summary
    }

    /// Saves a checkpoint at the current position and the log so far.
    public func stop() throws -> TrainingOutcome {
        let (epoch, step) = position
        try checkpoint.save(student: student, best: best, to: store.checkpointFile)
        try log.flush()
        publish(.message("stopped at epoch \(epoch + 1), step \(step); checkpoint saved, continue with --resume"))
        return .interrupted(epoch: epoch, step: step)
    }

    private var student: FeatureExtractor { sgdStep.student }

    private func nextBatch() -> [Int] {
        let step = checkpoint.step, n = data.train.count
        return Array(checkpoint.order[(step * options.batchSize)..<min((step + 1) * options.batchSize, n)])
    }

    private func progress(epoch: Int, step: Int, levels: [Double]) -> TrainingProgress {
        let n = data.train.count
        let rate = Double(imagesSeen) / max(Date().timeIntervalSince(started), 1e-9)
        // The epoch's last batch may be short: it leaves no image of the epoch, not a negative count.
        let remaining = Double((options.epochs - epoch - 1) * n + (n - min((step + 1) * options.batchSize, n))) / rate
        return TrainingProgress(epoch: epoch, epochs: options.epochs, step: step + 1, stepsPerEpoch: stepsPerEpoch,
                                levelLosses: levels, imagesPerSecond: rate, secondsRemaining: max(remaining, 0))
    }

    /// The best epoch so far becomes the model: its student, its normal scores (the held-out ones,
    /// or without a split the training images' after the last epoch), the threshold they give,
    /// and the config naming it.
    private func keepBest(epoch: Int, score: Double?, heldOutScores: [Float]?) throws {
        checkpoint.bestEpoch = epoch
        checkpoint.bestScore = score
        best = student.stateTensors()
        config.studentSHA256 = try store.saveStudent(best, metadata: ["backbone": options.backbone.rawValue, "epoch": String(epoch),
                                                                     "format": "stpm student, torch names"])
        // Scoring every training image each epoch would cost a second pass: without a split that
        // happens after the last epoch only.
        let normal = heldOutScores ?? (epoch == options.epochs ? trainingImageScores() : nil)
        if let normal {
            try store.saveNormalScores(normal)
            if let p99 = Self.trainedThreshold(normalScores: normal, stored: config.threshold) {
                config.threshold = try store.saveThreshold(p99, rule: .percentile(99)).saved
            }
        }
        config.bestEpoch = epoch
        config.bestValidationScore = score
        try store.save(config)
    }

    private func trainingImageScores() -> [Float] {
        HeldOutScoring.score(student: student, images: data.trainImages, cache: data.trainCache,
                             kind: options.backbone, size: options.size).scores
    }

    /// The threshold training stores: p99 of the normal scores; nil keeps the stored one, when
    /// someone chose it by hand or the scores give no percentile.
    static func trainedThreshold(normalScores: [Float], stored: Threshold?) -> Float? {
        if stored?.choice == .manual { return nil }
        return try? percentileThreshold(normalScores: normalScores, percentile: 99).value
    }
}

extension TrainingSession {
    /// What a model folder holds, as far as training it goes.
    public enum FolderState: Equatable, Sendable {
        /// Nothing to continue (no config.json and checkpoint): training starts from scratch. A config
        /// without a checkpoint is a run that never finished an epoch: starting over loses nothing.
        case empty
        /// A run stopped before its last epoch: `resume` continues it.
        case stopped
        /// Every epoch of the run in config.json is trained.
        case finished
    }

    public static func folderState(_ store: ModelStore) -> FolderState {
        guard store.exists, FileManager.default.fileExists(atPath: store.checkpointFile) else { return .empty }
        guard let config = try? store.loadConfig(), let done = Checkpoint.completedEpochs(at: store.checkpointFile),
              done >= config.training.epochs else { return .stopped }
        return .finished
    }

    /// The options a resumed run continues with: those it was started with.
    public static func storedOptions(_ store: ModelStore) throws -> TrainingOptions {
        try store.loadConfig().training
    }

    /// The refusals that need no teacher and no image: bad options, too few images, a trained
    /// model without `resume`, a `resume` without a checkpoint or with another backbone or size.
    public static func check(store: ModelStore, imageCount: Int, options: TrainingOptions, resume: Bool) throws {
        try options.validate()
        guard imageCount >= 2 else { throw TrainingError.tooFewImages(imageCount) }
        try MemoryBudget.checkTraining(options, images: imageCount)
        let state = folderState(store)
        if state != .empty && !resume { throw TrainingError.modelExists(store.path) }
        guard resume else { return }
        if state == .empty {
            throw TrainingError.checkpoint("\(store.path) has no checkpoint to resume from (the run stopped before its first epoch "
                                           + "ended); run the same command again without --resume to start over")
        }
        if let old = try? store.loadConfig(), old.backbone != options.backbone || old.size != options.size {
            throw otherRun(store, old)
        }
    }

    /// A resume continues the same run, which includes the teacher's weights.
    static func checkSameTeacher(store: ModelStore, sha256: String) throws {
        if let old = try? store.loadConfig(), old.teacherWeightsSHA256 != sha256 { throw otherRun(store, old) }
    }

    private static func otherRun(_ store: ModelStore, _ old: ModelConfig) -> TrainingError {
        .checkpoint("\(store.path) was trained with \(old.backbone.rawValue) at \(old.size)px and other teacher weights; resume with the same options")
    }

    /// A fresh student and the first epoch, or the checkpoint's student, position and best state.
    static func startingPoint(student: FeatureExtractor, store: ModelStore, options: TrainingOptions,
                              resume: Bool) throws -> (Checkpoint, [NamedTensor]) {
        StudentInit.initialize(student, seed: options.seed)
        guard resume else {
            return (Checkpoint(epoch: 0, step: 0, rng: SplitMix64(seed: options.seed &+ 1), order: [], bestEpoch: nil, bestScore: nil), [])
        }
        return try Checkpoint.load(from: store.checkpointFile, into: student)
    }
}

extension TrainingSession {
    /// What the folder's logs recorded, with the plan from its config.json.
    public static func replay(_ store: ModelStore) -> TrainingReplay {
        let (steps, epochs) = TrainingLog.read(store)
        var replay = TrainingReplay(steps: steps, epochs: epochs, finished: folderState(store) == .finished)
        if let config = try? store.loadConfig() {
            replay.plannedEpochs = config.training.epochs
            replay.stepsPerEpoch = config.training.stepsPerEpoch(trainImages: config.trainImages)
        }
        return replay
    }
}
