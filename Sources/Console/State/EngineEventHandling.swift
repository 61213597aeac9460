import Foundation
import Detection

extension ConsoleState {
    /// The console's one update, in the manner of bubbletea's Update: a key or an engine event
    /// changes the state, and what the engine must do in answer comes back as commands, which
    /// the app runs. Nothing here waits, draws or touches a file.
    mutating func update(_ event: ConsoleEvent) -> [ConsoleCommand] {
        let before = threshold
        var commands: [ConsoleCommand]
        switch event {
        case .key(let key): commands = handle(key).map { [$0] } ?? []
        case .engine(let engine): commands = apply(engine)
        }
        // Whatever moved the threshold (a key, a click, a rule, the model's stored one), the watcher
        // judges the next images by it; the images listed recolour by themselves.
        if live != nil, threshold != before { commands.append(.watchThreshold(threshold)) }
        return commands
    }

    /// Scores with the model in `path` from now on: earlier scores and maps go, and whatever an
    /// earlier scorer still reports is dropped by its generation.
    mutating func openModel(_ path: String) -> ConsoleCommand {
        scoringGeneration += 1
        modelPath = path
        anomalyMaps = [:]
        for i in rows.indices { rows[i].score = nil }
        inspected?.anomalyMap = nil
        return .score(modelPath: path, generation: scoringGeneration)
    }

    private mutating func apply(_ event: EngineEvent) -> [ConsoleCommand] {
        switch event {
        case let .trainingStarted(path, epochs, replay):
            training = replay.map(TrainingStatus.init(replay:)) ?? TrainingStatus()
            training.phase = .running
            training.totalEpochs = epochs
            focus = .training
            status = "training into \(path)"
        case .training(let e):
            if case .message(let m) = e { status = m }
            training.apply(e)
        case let .trainingEnded(path, outcome, error, studentSaved):
            return trainingEnded(path, outcome, error, studentSaved)
        case let .modelLoaded(g, threshold, normal) where g == ComparedModel.generation:
            comparisonLoaded(threshold: threshold, normalScores: normal)
        case let .modelLoaded(g, threshold, normal):
            guard g == scoringGeneration else { break }
            heldOutNormalScores = normal.map(Double.init)
            savedThreshold = threshold
            if let threshold {
                storedThreshold = Double(threshold.value)
                self.threshold = Double(threshold.value)
                thresholdOrigin = ThresholdOrigin(value: Double(threshold.value), rule: .stored)
            }
        case let .scored(g, id, score, map) where g == ComparedModel.generation:
            comparisonScored(id: id, score: score, map: map)
        case let .scored(g, id, score, map):
            guard g == scoringGeneration else { break }
            scored(id: id, score: score, map: map)
        case let .scoringFinished(g, count, seconds):
            guard g == scoringGeneration || g == ComparedModel.generation, count > 0 else { break }
            let which = comparison == nil ? "" : g == ComparedModel.generation ? "model B " : "model A "
            status = "\(which)scored \(count) test images in \(String(format: "%.1f", seconds)) s"
        case let .scoringFailed(g, message):
            guard g == scoringGeneration || g == ComparedModel.generation else { break }
            let which = comparison == nil ? "" : g == ComparedModel.generation ? " (model B)" : " (model A)"
            overlay = .message("scoring failed\(which): \(message)")
        case let .thresholdSaved(value, saved, configFile):
            // `s` saves the model the threshold keys act on, and the app answers before the next key.
            setSavedThreshold(saved, of: thresholdFocus)
            setThresholdOrigin(ThresholdOrigin(value: value, rule: .stored), of: thresholdFocus)
            status = "threshold \(NumberFormat.short(value)) saved to \(configFile)"
        case .thresholdNotSaved(let message):
            overlay = .message("could not save the threshold: \(message)")
        case .exportProgress(let p):
            status = p
        case let .exportFinished(message, nextDestination):
            exporting = false
            overlay = .message(message)
            if let nextDestination { exportDestination = nextDestination }
        case let .watched(record, map):
            return watched(record, map: map)
        case .watchStatus(let s):
            watchStatus(s)
        case .watchProblem(let message):
            status = message
        }
        return []
    }

    /// Train images are unlabelled (the student was fitted on them, their scores say little):
    /// their maps are kept for the inspector, but only labelled rows list a score.
    mutating func scored(id: Int, score: Float, map: ScalarMap) {
        anomalyMaps[id] = map
        if rows.indices.contains(id), rows[id].id == id, rows[id].label != .unknown {
            rows[id].score = Double(score)
        }
        widenMapRange(map, score: score)
        if inspectedID == id { inspected?.anomalyMap = map }
    }

    /// One colour scale for every image and both models, so heatmaps compare across the list and side by side.
    mutating func widenMapRange(_ map: ScalarMap, score: Float) {
        let first = anomalyMaps.count + (comparison?.anomalyMaps.count ?? 0) == 1
        let low = min(first ? .infinity : mapRange.lowerBound, map.values.min() ?? 0)
        let high = max(first ? -.infinity : mapRange.upperBound, score)
        mapRange = low...max(high, low + 1e-6)
    }

    private mutating func trainingEnded(_ path: String, _ outcome: TrainingOutcome?, _ error: String?, _ studentSaved: Bool) -> [ConsoleCommand] {
        if let error {
            training.phase = .failed(error)
            overlay = .message("training failed: \(error)")
            return []
        }
        switch outcome {
        case .finished(let best)?:
            training.phase = .finished
            status = "training finished (best epoch \(best.map(String.init) ?? "–")); scoring with the new model"
        default:
            training.phase = .idle
            status = "training stopped; its checkpoint is saved (Enter in the training pane resumes)"
        }
        // The newest student is the one worth triaging with, finished or not.
        return studentSaved ? [openModel(path)] : []
    }
}
