/// Where a run stands after one step, as a training session publishes it.
public struct TrainingProgress: Sendable, Equatable {
    /// 0-based.
    public var epoch: Int
    public var epochs: Int
    /// Steps of this epoch done (1 after its first step).
    public var step: Int
    public var stepsPerEpoch: Int
    public var levelLosses: [Double]
    public var total: Double { levelLosses.reduce(0, +) }
    public var imagesPerSecond: Double
    public var secondsRemaining: Double

    public init(epoch: Int, epochs: Int, step: Int, stepsPerEpoch: Int, levelLosses: [Double],
                imagesPerSecond: Double, secondsRemaining: Double) {
        self.epoch = epoch; self.epochs = epochs; self.step = step; self.stepsPerEpoch = stepsPerEpoch
        self.levelLosses = levelLosses; self.imagesPerSecond = imagesPerSecond; self.secondsRemaining = secondsRemaining
    }

    /// Steps done since the run began: the x of the loss curves, live and replayed alike.
    public var stepsDone: Int { epoch * stepsPerEpoch + step }
}

public struct EpochSummary: Sendable, Equatable {
    /// 1-based: the number of epochs done.
    public var epoch: Int
    /// Mean anomaly-map value on the held-out normal images (lower is better), nil without a split.
    public var validationScore: Double?
    public var isBest: Bool
    public var seconds: Double

    public init(epoch: Int, validationScore: Double?, isBest: Bool, seconds: Double) {
        self.epoch = epoch; self.validationScore = validationScore; self.isBest = isBest; self.seconds = seconds
    }
}

public enum TrainingEvent: Sendable, Equatable {
    case message(String)
    case step(TrainingProgress)
    case epoch(EpochSummary)
}

public enum TrainingOutcome: Sendable, Equatable {
    case finished(bestEpoch: Int?)
    case interrupted(epoch: Int, step: Int)
}
