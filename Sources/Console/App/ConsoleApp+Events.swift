import Foundation
import Detection

extension ConsoleApp {
    /// Applies what the workers reported since the last call; true when anything changed.
    func drainEvents() -> Bool {
        let batch = events.drain()
        for event in batch { apply(event) }
        return !batch.isEmpty
    }

    private func apply(_ event: EngineEvent) {
        switch event {
        case .training(let e):
            if case .message(let m) = e { state.status = m }
            state.training.apply(e)
        case let .trainingEnded(outcome, error):
            trainingEnded(outcome, error)
        case let .modelLoaded(g, threshold, normal):
            guard g == generation else { return }
            normalScores = normal
            storedThreshold = threshold
            state.heldOutNormalScores = normal.map(Double.init)
            if let threshold {
                state.storedThreshold = Double(threshold.value)
                state.threshold = Double(threshold.value)
                thresholdOrigin = (Double(threshold.value), .stored)
            }
        case let .scored(g, id, score, map):
            guard g == generation else { return }
            scored(id: id, score: score, map: map)
        case let .scoringFinished(g, count, seconds):
            guard g == generation, count > 0 else { return }
            state.status = "scored \(count) test images in \(String(format: "%.1f", seconds)) s"
        case let .scoringFailed(g, message):
            guard g == generation else { return }
            state.overlay = .message("scoring failed: \(message)")
        case .exportProgress(let p):
            state.status = p
        case let .exportFinished(message, failed):
            exporting = false
            state.overlay = .message(message)
            if !failed { state.exportDestination = Self.freshFolder(options.exportDirectory) }
        }
    }

    private func scored(id: Int, score: Float, map: ScalarMap) {
        maps[id] = map
        if state.rows.indices.contains(id), state.rows[id].id == id, dataset.samples[id].split == .test {
            state.rows[id].score = Double(score)
        }
        // One colour scale for every image, so heatmaps compare across the list.
        let first = maps.count == 1
        let low = min(first ? .infinity : state.mapRange.lowerBound, map.values.min() ?? 0)
        let high = max(first ? -.infinity : state.mapRange.upperBound, score)
        state.mapRange = low...max(high, low + 1e-6)
        if state.inspectedID == id { state.inspected?.anomalyMap = map }
    }

    private func trainingEnded(_ outcome: TrainingOutcome?, _ error: String?) {
        let path = training?.modelPath
        training = nil
        if let error {
            state.training.phase = .failed(error)
            state.overlay = .message("training failed: \(error)")
            return
        }
        switch outcome {
        case .finished(let best)?:
            state.training.phase = .finished
            state.status = "training finished (best epoch \(best.map(String.init) ?? "–")); scoring with the new model"
        default:
            state.training.phase = .idle
            state.status = "training stopped; its checkpoint is saved (Enter in the training pane resumes)"
        }
        // The newest student is the one worth triaging with, finished or not.
        if let path, FileManager.default.fileExists(atPath: ModelStore(path: path).studentFile) { openModel(path) }
    }
}
