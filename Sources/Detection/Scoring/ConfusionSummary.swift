/// An image score with its label by `GroundTruth`: what confusion counts and F1 thresholds read.
public struct LabelledScore: Equatable, Sendable {
    public var score: Float
    public var isDefective: Bool

    public init(score: Float, isDefective: Bool) {
        self.score = score
        self.isDefective = isDefective
    }
}

/// Tallies of flagged (score >= threshold) against labelled samples; the one count behind the CLI's
/// and the console's precision, recall and F1. The threshold is a Double so a console threshold nudged
/// between two Floats is compared exactly; a Float threshold gives the same tallies as `Threshold.flags`.
public struct ConfusionSummary: Equatable, Sendable {
    public var tp = 0, fp = 0, tn = 0, fn = 0

    public init(tp: Int, fp: Int, tn: Int, fn: Int) {
        self.tp = tp; self.fp = fp; self.tn = tn; self.fn = fn
    }

    public init(_ labelled: [LabelledScore], threshold: Double) {
        for s in labelled {
            // A NaN score is flagged, as by `Threshold.flags`: it must never pass as good.
            switch (Threshold.flags(Double(s.score), at: threshold), s.isDefective) {
            case (true, true): tp += 1
            case (true, false): fp += 1
            case (false, false): tn += 1
            case (false, true): fn += 1
            }
        }
    }

    public init(scores: [Float], labels: [Bool], threshold: Float) {
        precondition(scores.count == labels.count, "ConfusionSummary: \(scores.count) scores but \(labels.count) labels")
        self.init(zip(scores, labels).map { LabelledScore(score: $0, isDefective: $1) }, threshold: Double(threshold))
    }

    public var count: Int { tp + fp + tn + fn }
    /// nil when nothing is flagged.
    public var precision: Double? { ratio(tp, tp + fp) }
    /// nil when there is no defective sample.
    public var recall: Double? { ratio(tp, tp + fn) }
    /// nil when there is nothing flagged and nothing defective.
    public var f1: Double? { ratio(2 * tp, 2 * tp + fp + fn) }
    /// Good images flagged over good images; nil when there is no good image.
    public var falseAlarmRate: Double? { ratio(fp, fp + tn) }

    private func ratio(_ a: Int, _ b: Int) -> Double? { b > 0 ? Double(a) / Double(b) : nil }
}
