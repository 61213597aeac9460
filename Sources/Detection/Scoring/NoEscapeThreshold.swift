/// "No escapes": the highest threshold that still flags every labelled defective image (recall 1),
/// which is the lowest defective score, with what it costs on the good images.
public struct NoEscape: Equatable, Sendable {
    public var threshold: Threshold
    public var confusion: ConfusionSummary
    /// Good images flagged over good images; NaN when there is no good image.
    public var falseAlarmRate: Double { confusion.falseAlarmRate ?? .nan }
}

public func noEscapeThreshold(scores: [Float], labels: [Bool]) throws -> NoEscape {
    guard scores.count == labels.count else { throw ThresholdError.countMismatch(scores: scores.count, labels: labels.count) }
    guard !scores.isEmpty else { throw ThresholdError.noScores }
    guard scores.allSatisfy(\.isFinite) else { throw ThresholdError.nonFiniteScore }
    guard let lowest = zip(scores, labels).filter(\.1).map(\.0).min() else { throw ThresholdError.noDefectiveSamples }
    return NoEscape(threshold: Threshold(choice: .noEscape, value: lowest),
                    confusion: ConfusionSummary(scores: scores, labels: labels, threshold: lowest))
}

/// Recall of one defect type at a threshold: how many of its images are flagged.
public struct TypeRecall: Equatable, Sendable {
    public var type: String
    public var flagged: Int
    public var total: Int
    public var recall: Double { total == 0 ? .nan : Double(flagged) / Double(total) }
}

/// Per defect type (defective samples only), sorted by type name.
public func recallByType(types: [String], scores: [Float], labels: [Bool], threshold: Float) -> [TypeRecall] {
    recallByType(types: types, zip(scores, labels).map { LabelledScore(score: $0, isDefective: $1) }, threshold: Double(threshold))
}

/// The same with the console's Double threshold, compared as `ConfusionSummary` compares it, so the
/// per-type counts add up to its true positives (a NaN score is flagged).
public func recallByType(types: [String], _ labelled: [LabelledScore], threshold: Double) -> [TypeRecall] {
    var byType: [String: TypeRecall] = [:]
    for (type, s) in zip(types, labelled) where s.isDefective {
        byType[type, default: TypeRecall(type: type, flagged: 0, total: 0)].total += 1
        if !(Double(s.score) < threshold) { byType[type]!.flagged += 1 }
    }
    return byType.values.sorted { $0.type < $1.type }
}
