import Detection

/// The x of a loss sample is the number of steps done so far (`stepsDone`), in the live events
/// and the replayed logs alike, so a resumed run continues the curves it reloaded.
extension TrainingStatus {
    /// The curves and position a model folder's logs recorded, as the training session replays them.
    init(replay: TrainingReplay) {
        self.init()
        for s in replay.steps {
            appendLosses(x: Double(s.stepsDone), s.levelLosses)
            epoch = s.epoch + 1
            step = s.step
        }
        for e in replay.epochs { apply(.epoch(e)) }
        totalEpochs = replay.plannedEpochs ?? 0
        totalSteps = replay.stepsPerEpoch ?? 0
        phase = replay.finished ? .finished : .idle
    }

    mutating func apply(_ event: TrainingEvent) {
        switch event {
        case .message:
            break
        case .step(let p):
            epoch = p.epoch + 1
            totalEpochs = p.epochs
            step = p.step
            totalSteps = p.stepsPerEpoch
            imagesPerSecond = p.imagesPerSecond
            etaSeconds = p.secondsRemaining
            appendLosses(x: Double(p.stepsDone), p.levelLosses)
        case .epoch(let e):
            if let v = e.validationScore { heldOutScores.append(ChartPoint(x: Double(e.epoch), y: v)) }
        }
    }

    mutating func appendLosses(x: Double, _ losses: [Double]) {
        for (level, loss) in losses.prefix(levelLosses.count).enumerated() {
            levelLosses[level].append(ChartPoint(x: x, y: loss))
        }
        totalLoss.append(ChartPoint(x: x, y: losses.reduce(0, +)))
    }
}
