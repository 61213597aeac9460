/// Image-level confusion counts at a threshold, over rows with both a score and a label.
/// Manual flags are left out: these numbers describe the model, not the reviewer.
public struct ThresholdStats: Equatable, Sendable {
    public var truePositives = 0, falsePositives = 0, falseNegatives = 0, trueNegatives = 0

    public init(rows: [ImageRow], threshold: Double) {
        for r in rows {
            guard let s = r.score, r.label != .unknown else { continue }
            switch (s >= threshold, r.label == .defective) {
            case (true, true): truePositives += 1
            case (true, false): falsePositives += 1
            case (false, true): falseNegatives += 1
            case (false, false): trueNegatives += 1
            }
        }
    }

    public var labelledCount: Int { truePositives + falsePositives + falseNegatives + trueNegatives }
    public var precision: Double? { ratio(truePositives, truePositives + falsePositives) }
    public var recall: Double? { ratio(truePositives, truePositives + falseNegatives) }
    public var f1: Double? { ratio(2 * truePositives, 2 * truePositives + falsePositives + falseNegatives) }

    private func ratio(_ a: Int, _ b: Int) -> Double? { b > 0 ? Double(a) / Double(b) : nil }
}
