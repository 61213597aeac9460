import Detection

/// Which of the two models of `--model A --model B`; `.a` is the only one otherwise.
public enum ModelSlot: String, Equatable, Sendable {
    case a = "A", b = "B"

    var other: ModelSlot { self == .a ? .b : .a }
    /// Where a row keeps this model's score.
    var score: KeyPath<ImageRow, Double?> { self == .a ? \.score : \.scoreB }
}

/// The second model's side of the state: what `ConsoleState` holds for the first (threshold, its
/// origin, the stored one, held-out normal scores, maps), for model B. Its scores sit in the rows.
public struct ComparedModel: Equatable, Sendable {
    /// B is opened once and never replaced, so its scorer has one generation, apart from A's (1, 2, …).
    public static let generation = -1

    public var modelPath: String
    public var threshold: Double = 0.5
    public var storedThreshold: Double?
    public var savedThreshold: Threshold?
    public var thresholdOrigin: ThresholdOrigin?
    public var heldOutNormalScores: [Double] = []
    public var anomalyMaps: [Int: ScalarMap] = [:]

    public init(modelPath: String) { self.modelPath = modelPath }
}

extension ConsoleState {
    /// Scores the test images with a second model beside the first; nothing of A's changes.
    mutating func openComparison(_ path: String) -> ConsoleCommand {
        comparison = ComparedModel(modelPath: path)
        for i in rows.indices { rows[i].scoreB = nil }
        return .score(modelPath: path, generation: ComparedModel.generation)
    }

    /// Flagged by exactly one model, each at its threshold now: the engine's rule.
    public func disagree(_ row: ImageRow) -> Bool {
        guard let comparison else { return false }
        return ModelComparison.disagree(scoreA: row.score, thresholdA: threshold, scoreB: row.scoreB, thresholdB: comparison.threshold)
    }

    public var disagreementCount: Int { rows.filter(disagree).count }

    public func modelPath(of slot: ModelSlot) -> String? { slot == .a ? modelPath : comparison?.modelPath }

    public func threshold(of slot: ModelSlot) -> Double { slot == .b ? comparison?.threshold ?? threshold : threshold }

    public func storedThreshold(of slot: ModelSlot) -> Double? { slot == .b ? comparison?.storedThreshold : storedThreshold }

    public func savedThreshold(of slot: ModelSlot) -> Threshold? { slot == .b ? comparison?.savedThreshold : savedThreshold }

    public func thresholdOrigin(of slot: ModelSlot) -> ThresholdOrigin? { slot == .b ? comparison?.thresholdOrigin : thresholdOrigin }

    public func heldOutNormalScores(of slot: ModelSlot) -> [Double] {
        slot == .b ? comparison?.heldOutNormalScores ?? [] : heldOutNormalScores
    }

    /// Sets the threshold of `slot` (a no-op for B when only one model is open); its origin stays.
    mutating func setThreshold(_ value: Double, of slot: ModelSlot) {
        if slot == .a { threshold = value } else { comparison?.threshold = value }
    }

    mutating func setThresholdOrigin(_ origin: ThresholdOrigin?, of slot: ModelSlot) {
        if slot == .a { thresholdOrigin = origin } else { comparison?.thresholdOrigin = origin }
    }

    mutating func setStoredThreshold(_ value: Double?, of slot: ModelSlot) {
        if slot == .a { storedThreshold = value } else { comparison?.storedThreshold = value }
    }

    mutating func setSavedThreshold(_ value: Threshold?, of slot: ModelSlot) {
        if slot == .a { savedThreshold = value } else { comparison?.savedThreshold = value }
    }

    /// Scored rows with a label, by `slot`'s scores (see `labelledScores`).
    public func labelledScores(of slot: ModelSlot) -> [LabelledScore] { labelledRows(of: slot).map(\.labelled) }

    /// The engine's recall per defect type at `slot`'s threshold, over the rows it scored with a label.
    public func recallByType(of slot: ModelSlot) -> [TypeRecall] {
        let rows = labelledRows(of: slot)
        return Detection.recallByType(types: rows.map { $0.row.defectType ?? "" }, rows.map(\.labelled), threshold: threshold(of: slot))
    }

    private func labelledRows(of slot: ModelSlot) -> [(row: ImageRow, labelled: LabelledScore)] {
        rows.compactMap { r in
            guard let s = r[keyPath: slot.score], r.label != .unknown else { return nil }
            return (r, LabelledScore(score: Float(s), isDefective: r.label == .defective))
        }
    }

    public func flaggedRows(of slot: ModelSlot) -> [ImageRow] {
        rows.filter { $0.isFlagged(by: slot.score, at: threshold(of: slot)) }
    }

    /// Span of `slot`'s known scores, for threshold steps and the histogram; 0...1 before any scoring.
    public func scoreRange(of slot: ModelSlot) -> ClosedRange<Double> {
        let s = rows.compactMap { $0[keyPath: slot.score] }.filter(\.isFinite)
        guard let lo = s.min(), let hi = s.max(), hi > lo else { return 0...1 }
        return lo...hi
    }

    /// B's results, routed here by `ComparedModel.generation`.
    mutating func comparisonLoaded(threshold stored: Threshold?, normalScores: [Float]) {
        comparison?.heldOutNormalScores = normalScores.map(Double.init)
        comparison?.savedThreshold = stored
        if let stored {
            let value = Double(stored.value)
            comparison?.storedThreshold = value
            comparison?.threshold = value
            comparison?.thresholdOrigin = ThresholdOrigin(value: value, rule: .stored)
        }
    }

    mutating func comparisonScored(id: Int, score: Float, map: ScalarMap) {
        comparison?.anomalyMaps[id] = map
        if rows.indices.contains(id), rows[id].id == id, rows[id].label != .unknown {
            rows[id].scoreB = Double(score)
        }
        widenMapRange(map, score: score)
    }
}
