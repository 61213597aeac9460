import Foundation
import Numerics
import Backbones

// One set of rules for a model's settings, applied to command-line options before training and to a
// config.json read from disk before anything is allocated from it: a size of 0 or 10^6 in an edited
// config.json must be refused in plain words, not end in a division by zero or a 30 GB allocation.

/// The limits of a model's settings.
public enum ModelLimits {
    /// Square input sizes: the three taps need a multiple of 16; above 2048 px no supported teacher's
    /// receptive field makes sense and the memory budget refuses anyway.
    public static let sizes = 32...2048
    public static let epochs = 1...100_000
    public static let batchSizes = 1...4096

    /// Why `size` is no valid model size, or nil.
    public static func sizeProblem(_ size: Int) -> String? {
        sizes.contains(size) && size % 16 == 0 ? nil
            : "must be a multiple of 16 from \(sizes.lowerBound) to \(sizes.upperBound) (got \(size))"
    }
}

extension TrainingOptions {
    /// Each broken setting as (config.json key, what is wrong).
    public func problems() -> [(key: String, problem: String)] {
        var found: [(String, String)] = []
        func check(_ ok: Bool, _ key: String, _ problem: @autoclosure () -> String) { if !ok { found.append((key, problem())) } }
        if let p = ModelLimits.sizeProblem(size) { found.append(("size", p)) }
        check(ModelLimits.epochs.contains(epochs), "epochs", "must be from 1 to \(ModelLimits.epochs.upperBound) (got \(epochs))")
        check(ModelLimits.batchSizes.contains(batchSize), "batchSize",
              "must be from 1 to \(ModelLimits.batchSizes.upperBound) (got \(batchSize))")
        check(learningRate.isFinite && learningRate > 0, "learningRate", "must be a positive number (got \(learningRate))")
        check(momentum.isFinite && (0..<1).contains(momentum), "momentum", "must be in [0, 1) (got \(momentum))")
        check(weightDecay.isFinite && weightDecay >= 0, "weightDecay", "must be a number >= 0 (got \(weightDecay))")
        check(validationFraction.isFinite && (0..<1).contains(validationFraction), "validationFraction",
              "must be in [0, 1) (got \(validationFraction))")
        for e in snapshotEpochs where !(1...max(1, epochs)).contains(e) {
            found.append(("snapshotEpochs", "epoch \(e) is not between 1 and --epochs \(epochs)"))
        }
        return found
    }

    /// The command-line spelling of each key, for messages about options.
    static let optionNames = ["size": "--size", "epochs": "--epochs", "batchSize": "--batch", "learningRate": "--lr",
                              "momentum": "--momentum", "weightDecay": "--weight-decay",
                              "validationFraction": "--val-fraction", "snapshotEpochs": "--snapshot-epochs"]

    public func validate() throws {
        guard let (key, problem) = problems().first else { return }
        throw TrainingError.badOption("\(Self.optionNames[key] ?? key) \(problem)")
    }
}

extension ModelConfig {
    /// The configuration in `data` (the contents of `file`), refused with the first problem found.
    public static func checked(_ data: Data, file: String) throws -> ModelConfig {
        let config: ModelConfig
        do { config = try JSONDecoder().decode(ModelConfig.self, from: data) } catch {
            throw ModelStoreError.corrupt(file, (error as? DecodingError)?.plainDescription ?? "not valid JSON")
        }
        if let (key, problem) = config.problems().first { throw ModelStoreError.corrupt(file, "\(key) \(problem)") }
        return config
    }

    /// Each broken field as (key, what is wrong); empty for a consistent config.
    public func problems() -> [(key: String, problem: String)] {
        var found = training.problems().map { (key: "training.\($0.key)", problem: $0.problem) }
        func check(_ ok: Bool, _ key: String, _ problem: @autoclosure () -> String) { if !ok { found.append((key, problem())) } }
        check(format == 1, "format", "is \(format); this stpm reads format 1")
        if let p = ModelLimits.sizeProblem(size) { found.append(("size", p)) }
        check(size == training.size, "size", "is \(size) but training.size is \(training.size)")
        check(backbone == training.backbone, "backbone", "is \(backbone.rawValue) but training.backbone is \(training.backbone.rawValue)")
        check(tapChannels == backbone.tapChannels, "tapChannels",
              "are \(tapChannels.prefix(8)) but \(backbone.rawValue) has \(backbone.tapChannels)")
        check(normalization == backbone.normalizationDescription, "normalization",
              "is \(quoted(normalization)) but \(backbone.rawValue) uses \"\(backbone.normalizationDescription)\"")
        check(isSHA256(teacherWeightsSHA256), "teacherWeightsSHA256", "is not a sha256 (64 hex digits)")
        check(studentSHA256.map(isSHA256) ?? true, "studentSHA256", "is not a sha256 (64 hex digits)")
        check(trainImages >= 1, "trainImages", "must be at least 1 (got \(trainImages))")
        check(validationImages >= 0, "validationImages", "must be at least 0 (got \(validationImages))")
        if let e = bestEpoch { check((1...max(1, training.epochs)).contains(e), "bestEpoch", "\(e) is not between 1 and \(training.epochs)") }
        if let s = bestValidationScore { check(s.isFinite && s >= 0, "bestValidationScore", "must be a number >= 0 (got \(s))") }
        if let t = threshold {
            check(t.value.isFinite, "threshold.value", "must be a finite number (got \(t.value))")
            if case .percentile(let p) = t.choice {
                check(p.isFinite && (0...100).contains(p), "threshold.percentile", "must be in 0...100 (got \(p))")
            }
        }
        return found
    }

    private func isSHA256(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }
}
