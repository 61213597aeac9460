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

    /// The threshold this rule gives from what is known about the model and the labelled images.
    /// A rule added later (say, the lowest threshold that lets no defective image escape) is one more
    /// case here and one more line in `resolve` and `recordedChoice`.
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
        case .f1:
            // Images without a finite score are flagged whatever the threshold, so they cannot inform it.
            let judged = evidence.labelled.filter(\.score.isFinite)
            return try f1OptimalThreshold(scores: judged.map(\.score), labels: judged.map(\.isDefective))
        }
    }

    /// How a threshold this rule produced is recorded in config.json; `.stored` keeps the stored method.
    func recordedChoice(stored: Threshold?) -> ThresholdChoice {
        switch self {
        case .stored: stored?.choice ?? .manual
        case .value: .manual
        case .percentile(let p): .percentile(p)
        case .f1: .f1
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
        }
    }
}
