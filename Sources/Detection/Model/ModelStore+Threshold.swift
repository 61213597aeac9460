extension ModelStore {
    /// The one writer of config.json's threshold: `stpm threshold`, the console's `s` and training come
    /// here. Stores `value`, recorded with the method `rule` stands for (a nudged console threshold is a
    /// plain value, so manual), and returns it with the threshold it replaced.
    @discardableResult
    public func saveThreshold(_ value: Float, rule: ThresholdRule) throws -> (saved: Threshold, previous: Threshold?) {
        var config = try loadConfig()
        let previous = config.threshold
        let saved = Threshold(choice: rule.recordedChoice(stored: previous), value: value)
        config.threshold = saved
        try save(config)
        return (saved, previous)
    }

    /// The threshold training keeps once it has held-out normal scores: their 99th percentile, unless the
    /// user fixed a value by hand, which training never overrides.
    public static func trainingThreshold(previous: Threshold?, normalScores: [Float]) -> Threshold? {
        if let previous, previous.choice == .manual { return previous }
        return (try? percentileThreshold(normalScores: normalScores, percentile: 99)) ?? previous
    }
}
