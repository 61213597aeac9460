extension ModelStore {
    /// The one writer of a chosen threshold into config.json: `stpm threshold`, the console's `s` and
    /// training (p99 of its normal scores at each best epoch, `TrainingSession.trainedThreshold`) come here.
    /// Stores `value`, recorded with the method `rule` stands for (a nudged console threshold is a plain
    /// value, so manual), and returns it with the threshold it replaced.
    @discardableResult
    public func saveThreshold(_ value: Float, rule: ThresholdRule) throws -> (saved: Threshold, previous: Threshold?) {
        var config = try loadConfig()
        let previous = config.threshold
        let saved = Threshold(choice: rule.recordedChoice(stored: previous), value: value)
        config.threshold = saved
        try save(config)
        return (saved, previous)
    }
}
