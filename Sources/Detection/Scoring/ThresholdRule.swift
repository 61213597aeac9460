import Foundation

/// How a command or the console picks the decision threshold on image scores.
public enum ThresholdRule: Equatable, Sendable {
    /// The threshold saved in the model (the trainer stores p99 of the held-out normal scores).
    case stored
    /// A value given by the user.
    case value(Float)
    /// A percentile (0...100) of the model's held-out normal scores.
    case percentile(Double)
    /// F1-optimal over labelled scores.
    case f1
    /// The highest threshold that flags every labelled defective image.
    case noEscape

    /// The percentile `.f1` and `.noEscape` fall back to when the labelled set has no defective image.
    public static let fallbackPercentile = 99.0

    /// The threshold this rule gives from what is known about the model and the labelled images.
    /// Without a defective labelled image F1 and recall are undefined (an F1 search over good images
    /// alone would return the lowest score and flag everything), so `.f1` and `.noEscape` use the
    /// percentile rule instead: the held-out normal scores, or the labelled good scores when the model
    /// has none (`fallbackNote` says so).
    public func resolve(_ evidence: ThresholdEvidence) throws -> Threshold {
        switch self {
        case .stored:
            guard let threshold = evidence.stored else { throw ThresholdRuleError.noStoredThreshold(evidence.model.path) }
            return threshold
        case .value(let v):
            guard v.isFinite else { throw ThresholdRuleError.badValue(v) }
            return manualThreshold(v)
        case .percentile(let p):
            guard !evidence.normalScores.isEmpty else { throw ThresholdRuleError.noNormalScores(evidence.model.normalScoresFile) }
            return try percentileThreshold(normalScores: evidence.normalScores, percentile: p)
        case .f1, .noEscape:
            // Images without a finite score are flagged whatever the threshold, so they cannot inform it.
            let judged = evidence.labelled.filter(\.score.isFinite)
            let scores = judged.map(\.score), labels = judged.map(\.isDefective)
            guard labels.contains(true) else {
                return try percentileThreshold(normalScores: evidence.normalScores.isEmpty ? scores : evidence.normalScores,
                                               percentile: ThresholdRule.fallbackPercentile)
            }
            return self == .f1 ? try f1OptimalThreshold(scores: scores, labels: labels)
                : try noEscapeThreshold(scores: scores, labels: labels).threshold
        }
    }

    /// Said when `.f1` or `.noEscape` had to fall back (nil when it did not).
    public func fallbackNote(labelled: [LabelledScore]) -> String? {
        guard self == .f1 || self == .noEscape, !labelled.contains(where: \.isDefective) else { return nil }
        return "the labelled set has only good images, so \(self == .f1 ? "F1 is" : "recall is") undefined: "
            + "using percentile \(formatScore(Float(ThresholdRule.fallbackPercentile))) of the normal scores instead"
    }

    /// How a threshold this rule produced is recorded in config.json; `.stored` keeps the stored method.
    func recordedChoice(stored: Threshold?) -> ThresholdChoice {
        switch self {
        case .stored: stored?.choice ?? .manual
        case .value: .manual
        case .percentile(let p): .percentile(p)
        case .f1: .f1
        case .noEscape: .noEscape
        }
    }
}

/// What a threshold rule is resolved from: the model's stored threshold and held-out normal scores,
/// and labelled image scores (for F1). The console keeps these as they arrive; `Inspection` reads them
/// from the model folder.
public struct ThresholdEvidence: Sendable {
    public var model: ModelStore
    public var stored: Threshold?
    public var normalScores: [Float]
    public var labelled: [LabelledScore]

    public init(model: ModelStore, stored: Threshold?, normalScores: [Float], labelled: [LabelledScore] = []) {
        self.model = model; self.stored = stored; self.normalScores = normalScores; self.labelled = labelled
    }
}

public enum ThresholdRuleError: Error, CustomStringConvertible {
    case noStoredThreshold(String)
    case noNormalScores(String)
    case badValue(Float)

    public var description: String {
        switch self {
        case .noStoredThreshold(let p): "\(p) has no stored threshold; set one with `stpm threshold \(p) --percentile 99` (or --f1 DATA, --value T)"
        case .noNormalScores(let f): "no held-out normal scores in \(f) (written by training after the first epoch with held-out images)"
        case .badValue(let v): "threshold must be a finite number, got \(v)"
        }
    }
}

extension Threshold {
    /// How the threshold was chosen, for messages: "F1-optimal", "percentile 99", "manual".
    public var methodDescription: String {
        switch choice {
        case .f1: "F1-optimal"
        case .percentile(let p): "percentile \(formatScore(Float(p))) of held-out normal scores"
        case .manual: "manual"
        case .noEscape: "no escapes: the lowest labelled defective score"
        }
    }
}
