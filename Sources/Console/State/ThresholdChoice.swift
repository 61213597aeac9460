import Detection

extension ConsoleState {
    /// What the engine's threshold rules read, as far as the console knows it: the model's stored
    /// threshold and held-out normal scores, and the test images it scored, with their labels.
    func thresholdEvidence(of slot: ModelSlot) -> ThresholdEvidence? {
        modelPath(of: slot).map {
            ThresholdEvidence(model: ModelStore(path: $0), stored: savedThreshold(of: slot),
                              normalScores: heldOutNormalScores(of: slot).map(Float.init), labelled: labelledScores(of: slot))
        }
    }

    /// The rule that reproduces model A's threshold in force (export and the live view use A).
    public var currentThresholdRule: ThresholdRule { currentThresholdRule(of: .a) }

    /// The rule that reproduces `slot`'s threshold in force: how it was chosen while it is unchanged,
    /// a plain value once it was nudged by hand.
    public func currentThresholdRule(of slot: ModelSlot) -> ThresholdRule {
        let threshold = threshold(of: slot)
        if let origin = thresholdOrigin(of: slot), origin.value == threshold { return origin.rule }
        return .value(Float(threshold))
    }

    /// Sets the threshold of the model the keys act on (A unless `M` chose B) by one of the engine's rules
    /// (`f`, `p`, `r`) and says what it gives.
    mutating func choose(_ rule: ThresholdRule) {
        let slot = thresholdFocus
        guard let evidence = thresholdEvidence(of: slot) else { status = "no model open"; return }
        do {
            let value = Double(try rule.resolve(evidence).value)
            setThreshold(value, of: slot)
            setThresholdOrigin(ThresholdOrigin(value: value, rule: rule), of: slot)
            let note = rule.fallbackNote(labelled: evidence.labelled) ?? note(rule, evidence, threshold: value)
            status = (comparison == nil ? "" : "model \(slot.rawValue): ") + note
        } catch {
            status = "no threshold: \(error)"
        }
    }

    private func note(_ rule: ThresholdRule, _ evidence: ThresholdEvidence, threshold: Double) -> String {
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
