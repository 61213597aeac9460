import Detection

extension ConsoleState {
    /// What the engine's threshold rules read, as far as the console knows it: the open model's stored
    /// threshold and held-out normal scores, and the scored test images with their labels.
    var thresholdEvidence: ThresholdEvidence? {
        modelPath.map {
            ThresholdEvidence(model: ModelStore(path: $0), stored: savedThreshold, normalScores: heldOutNormalScores.map(Float.init),
                              labelled: labelledScores)
        }
    }

    /// The rule that reproduces the threshold in force: how it was chosen while it is unchanged,
    /// a plain value once it was nudged by hand.
    public var currentThresholdRule: ThresholdRule {
        if let origin = thresholdOrigin, origin.value == threshold { return origin.rule }
        return .value(Float(threshold))
    }

    /// Sets the threshold by one of the engine's rules (`f`, `p`, `r`) and says what it gives.
    mutating func choose(_ rule: ThresholdRule) {
        guard let evidence = thresholdEvidence else { status = "no model open"; return }
        do {
            let t = try rule.resolve(evidence)
            threshold = Double(t.value)
            thresholdOrigin = ThresholdOrigin(value: threshold, rule: rule)
            status = rule.fallbackNote(labelled: evidence.labelled) ?? note(rule, evidence)
        } catch {
            status = "no threshold: \(error)"
        }
    }

    private func note(_ rule: ThresholdRule, _ evidence: ThresholdEvidence) -> String {
        let c = ConfusionSummary(evidence.labelled, threshold: threshold)
        func f(_ v: Double?) -> String { v.map { NumberFormat.short($0) } ?? "–" }
        switch rule {
        case .f1:
            return "F1-optimal threshold over \(evidence.labelled.count) scored test images (F1 \(f(c.f1)))"
        case .noEscape:
            let rate = c.falseAlarmRate.map { " (\(NumberFormat.short(100 * $0)) %)" } ?? ""
            return "no escapes: \(NumberFormat.short(threshold)) flags all \(c.tp) defective images; "
                + "precision \(f(c.precision)), false alarms \(c.fp) of \(c.fp + c.tn) good\(rate)"
        case .percentile(let p):
            return "\(NumberFormat.short(p))th percentile of \(evidence.normalScores.count) held-out normal scores"
        case .stored, .value:
            return "threshold \(NumberFormat.short(threshold))"
        }
    }
}
