/// "No escapes": the highest threshold that still flags every labelled defective image (recall 1),
/// which is the lowest defective score, with what it costs on the good images.
public struct NoEscape: Equatable, Sendable {
    public var threshold: Threshold
    public var confusion: ConfusionSummary
    /// Good images flagged over good images; NaN when there is no good image.
    public var falseAlarmRate: Double {
        confusion.fp + confusion.tn == 0 ? .nan : Double(confusion.fp) / Double(confusion.fp + confusion.tn)
    }
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
    var byType: [String: TypeRecall] = [:]
    for ((type, score), defective) in zip(zip(types, scores), labels) where defective {
        byType[type, default: TypeRecall(type: type, flagged: 0, total: 0)].total += 1
        if score >= threshold { byType[type]!.flagged += 1 }
    }
    return byType.values.sorted { $0.type < $1.type }
}
