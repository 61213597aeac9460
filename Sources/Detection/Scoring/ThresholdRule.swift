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

    /// The threshold this rule gives; `labelled` is only read for `.f1`.
    public func resolve(model: AnomalyModel, labelled: [ScoredSample] = []) throws -> Threshold {
        switch self {
        case .stored:
            guard let threshold = model.config.threshold else { throw ThresholdRuleError.noStoredThreshold(model.store.path) }
            return threshold
        case .value(let v):
            guard v.isFinite else { throw ThresholdRuleError.badValue(v) }
            return manualThreshold(v)
        case .percentile(let p):
            let normal = model.store.loadNormalScores()
            guard !normal.isEmpty else { throw ThresholdRuleError.noNormalScores(model.store.normalScoresFile) }
            return try percentileThreshold(normalScores: normal, percentile: p)
        case .f1:
            return try f1OptimalThreshold(scores: labelled.map(\.score), labels: labelled.map(\.isDefective))
        }
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
