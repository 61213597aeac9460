import Foundation
import Detection

/// The x of a loss sample is the number of steps done so far, in both the live events and
/// the log files, so a resumed run continues the curves it reloaded.
extension TrainingStatus {
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
            appendLosses(x: Double(p.epoch * p.stepsPerEpoch + p.step), p.levelLosses)
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

    /// The curves a model directory logged: train_log.jsonl per step, validation.jsonl per epoch.
    /// Unreadable lines are skipped; a log cut short by a crash still shows what it has.
    static func fromLogs(of store: ModelStore) -> TrainingStatus {
        var status = TrainingStatus()
        for line in jsonLines(store.trainLogFile) {
            guard let g = line["global_step"] as? Int, let losses = line["loss"] as? [Double] else { continue }
            status.appendLosses(x: Double(g + 1), losses)
            status.step = line["step"] as? Int ?? status.step
            status.epoch = line["epoch"] as? Int ?? status.epoch
        }
        var epochsDone = 0
        for line in jsonLines(store.validationFile) {
            guard let e = line["epoch"] as? Int else { continue }
            epochsDone = max(epochsDone, e)
            if let v = line["validation_mean_score"] as? Double { status.heldOutScores.append(ChartPoint(x: Double(e), y: v)) }
        }
        if let config = try? store.loadConfig() {
            status.totalEpochs = config.training.epochs
            status.totalSteps = (config.trainImages + config.training.batchSize - 1) / max(config.training.batchSize, 1)
            status.phase = epochsDone >= config.training.epochs ? .finished : .idle
        }
        return status
    }

    private static func jsonLines(_ path: String) -> [[String: Any]] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }
}
