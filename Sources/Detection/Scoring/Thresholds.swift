
/// How the decision threshold on image scores was chosen.
public enum ThresholdChoice: Equatable, Sendable {
    /// Maximises F1 over labelled scores.
    case f1
    /// A percentile (0...100) of held-out normal scores: flags roughly (100 - p)% of good images.
    case percentile(Double)
    /// Given by the user.
    case manual
    /// The lowest labelled defective score: flags every labelled defect (recall 1).
    case noEscape
}

/// A threshold and how it was chosen; a score is flagged as defective when `score >= value`.
public struct Threshold: Codable, Equatable, Sendable {
    public var choice: ThresholdChoice
    public var value: Float

    public init(choice: ThresholdChoice, value: Float) {
        self.choice = choice
        self.value = value
    }

    /// A NaN score is flagged: an image the model cannot judge must never pass as good.
    public func flags(_ score: Float) -> Bool { Self.flags(Double(score), at: Double(value)) }

    /// The one flag rule, at a threshold that may lie between two Floats (the console nudges it in Doubles).
    public static func flags(_ score: Double, at threshold: Double) -> Bool { !(score < threshold) }
}

// Flat keys ({"method": "percentile", "percentile": 99}) rather than the synthesized nesting, so saved
// thresholds stay readable and editable by hand.
extension ThresholdChoice: Codable {
    private enum CodingKeys: String, CodingKey { case method, percentile }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(String.self, forKey: .method) {
        case "f1": self = .f1
        case "percentile": self = .percentile(try container.decode(Double.self, forKey: .percentile))
        case "manual": self = .manual
        case "no-escape": self = .noEscape
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .method, in: container,
                                                   debugDescription: "unknown threshold method '\(other)' (expected f1, percentile, manual or no-escape)")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .f1: try container.encode("f1", forKey: .method)
        case .percentile(let p):
            try container.encode("percentile", forKey: .method)
            try container.encode(p, forKey: .percentile)
        case .manual: try container.encode("manual", forKey: .method)
        case .noEscape: try container.encode("no-escape", forKey: .method)
        }
    }
}

public enum ThresholdError: Error, Equatable, CustomStringConvertible {
    case noScores
    case countMismatch(scores: Int, labels: Int)
    case noDefectiveSamples
    case percentileOutOfRange(Double)
    case nonFiniteScore

    public var description: String {
        switch self {
        case .noScores: return "no scores to choose a threshold from"
        case let .countMismatch(scores, labels): return "\(scores) scores but \(labels) labels"
        case .noDefectiveSamples: return "F1 needs at least one defective sample among the labelled scores"
        case .percentileOutOfRange(let p): return "percentile must lie in 0...100, got \(p)"
        case .nonFiniteScore: return "a score is NaN or infinite"
        }
    }
}

/// The distinct score maximising F1 when used as threshold. Among equal F1 the highest threshold wins,
/// which flags the fewest images for the same quality.
public func f1OptimalThreshold(scores: [Float], labels: [Bool]) throws -> Threshold {
    guard scores.count == labels.count else { throw ThresholdError.countMismatch(scores: scores.count, labels: labels.count) }
    guard !scores.isEmpty else { throw ThresholdError.noScores }
    guard scores.allSatisfy(\.isFinite) else { throw ThresholdError.nonFiniteScore }
    let positives = labels.filter { $0 }.count
    guard positives > 0 else { throw ThresholdError.noDefectiveSamples }

    // Lowering the threshold through the sorted scores adds one tied run at a time to the flagged set.
    let order = scores.indices.sorted { scores[$0] > scores[$1] }
    var tp = 0, fp = 0
    var best = (f1: -1.0, threshold: scores[order[0]])
    for (rank, i) in order.enumerated() {
        if labels[i] { tp += 1 } else { fp += 1 }
        let isLastOfRun = rank + 1 == order.count || scores[order[rank + 1]] != scores[i]
        guard isLastOfRun else { continue }
        let f1 = Double(2 * tp) / Double(tp + fp + positives)
        if f1 > best.f1 { best = (f1, scores[i]) }
    }
    return Threshold(choice: .f1, value: best.threshold)
}

/// The `percentile`-th percentile (0...100) of normal scores, interpolated linearly between order statistics
/// like `numpy.percentile`'s default method.
public func percentileThreshold(normalScores: [Float], percentile: Double = 99) throws -> Threshold {
    guard !normalScores.isEmpty else { throw ThresholdError.noScores }
    guard (0...100).contains(percentile) else { throw ThresholdError.percentileOutOfRange(percentile) }
    guard normalScores.allSatisfy(\.isFinite) else { throw ThresholdError.nonFiniteScore }
    let sorted = normalScores.sorted().map(Double.init)
    let rank = percentile / 100 * Double(sorted.count - 1)
    let below = Int(rank.rounded(.down))
    let above = min(below + 1, sorted.count - 1)
    let fraction = rank - Double(below)
    // numpy's lerp form: exact at both ends and monotone in the fraction.
    let value = fraction >= 0.5
        ? sorted[above] - (sorted[above] - sorted[below]) * (1 - fraction)
        : sorted[below] + (sorted[above] - sorted[below]) * fraction
    return Threshold(choice: .percentile(percentile), value: Float(value))
}

public func manualThreshold(_ value: Float) -> Threshold {
    Threshold(choice: .manual, value: value)
}
