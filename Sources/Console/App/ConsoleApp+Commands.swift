import Foundation
import Detection
import ImageIO

extension ConsoleApp {
    func perform(_ command: ConsoleCommand) {
        switch command {
        case .inspect(let id): inspect(id)
        case let .score(path, generation): startScoring(with: path, generation: generation)
        case .startTraining: openTrainingForm()
        case .pauseTraining: training?.control.paused = true
        case .resumeTraining: training?.control.paused = false
        case .stopTraining: training?.control.requestStop()
        case .beginTraining(let form): submitTrainingForm(form)
        case .f1OptimalThreshold: snapToF1()
        case .percentileThreshold: snapToPercentile()
        case .saveThreshold(let value): saveThreshold(value)
        case .exportFlagged: startExport()
        case .bell: screen.bell()
        case .quit: break
        }
    }

    /// Scores the test images with the model in `path`, in place of any earlier scorer.
    private func startScoring(with path: String, generation: Int) {
        scorer?.cancel()
        let jobs = dataset.testIDs.map { (id: $0, path: dataset.samples[$0].path) }
        let worker = ScoringWorker(modelPath: path, jobs: jobs, generation: generation, events: events)
        scorer = worker
        worker.start()
        if let id = state.inspectedID { worker.prioritize(id: id, path: dataset.samples[id].path) }
    }

    /// Shows the photograph and ground truth at once; the anomaly map follows from the scorer
    /// when it is not cached yet.
    func inspect(_ id: Int) {
        guard dataset.samples.indices.contains(id) else { return }
        let sample = dataset.samples[id]
        var shown = InspectorImage(anomalyMap: state.anomalyMaps[id])
        do {
            let photo = try ImageReader.read(path: sample.path, as: .rgb)
            shown.image = PixelImage(width: photo.width, height: photo.height, pixels: stride(from: 0, to: photo.pixels.count, by: 3).map {
                RGB(photo.pixels[$0], photo.pixels[$0 + 1], photo.pixels[$0 + 2])
            })
            if let maskPath = sample.maskPath {
                let mask = try ImageReader.read(path: maskPath, as: .gray)
                shown.groundTruth = ScalarMap(width: mask.width, height: mask.height, values: mask.pixels.map { $0 == 0 ? 0 : 1 })
            }
        } catch {
            state.status = "\(error)"
        }
        state.inspected = shown
        state.inspectedID = id
        if shown.anomalyMap == nil {
            if let scorer { scorer.prioritize(id: id, path: sample.path) } else { state.status = "no model open: --model MODEL shows anomaly maps" }
        }
    }

    /// What the engine's threshold rules read, as far as the console knows it: the open model's stored
    /// threshold and held-out normal scores, and the scored test images with their labels.
    private func evidence(_ modelPath: String) -> ThresholdEvidence {
        ThresholdEvidence(model: ModelStore(path: modelPath), stored: state.savedThreshold, normalScores: state.heldOutNormalScores.map(Float.init),
                          labelled: state.labelledScores)
    }

    private func setThreshold(_ rule: ThresholdRule, note: (Threshold) -> String) {
        guard let modelPath = state.modelPath else { state.status = "no model open"; return }
        do {
            let t = try rule.resolve(evidence(modelPath))
            state.threshold = Double(t.value)
            state.thresholdOrigin = ThresholdOrigin(value: Double(t.value), rule: rule)
            state.status = note(t)
        } catch {
            state.status = "no threshold: \(error)"
        }
    }

    private func snapToF1() {
        let labelled = state.labelledScores
        setThreshold(.f1) { t in
            let f1 = ConfusionSummary(labelled, threshold: Double(t.value)).f1 ?? 0
            return "F1-optimal threshold over \(labelled.count) scored test images (F1 \(NumberFormat.short(f1)))"
        }
    }

    private func snapToPercentile() {
        setThreshold(.percentile(99)) { _ in "99th percentile of \(self.state.heldOutNormalScores.count) held-out normal scores" }
    }

    /// The rule that reproduces the threshold in force: how it was chosen while it is
    /// unchanged, a plain value once it was nudged by hand.
    var currentThresholdRule: ThresholdRule {
        if let origin = state.thresholdOrigin, origin.value == state.threshold { return origin.rule }
        return .value(Float(state.threshold))
    }

    private func saveThreshold(_ value: Double) {
        guard let modelPath = state.modelPath else { state.status = "no model open to save the threshold into"; return }
        let store = ModelStore(path: modelPath)
        do {
            state.savedThreshold = try store.saveThreshold(Float(value), rule: currentThresholdRule).saved
            state.thresholdOrigin = ThresholdOrigin(value: value, rule: .stored)
            state.status = "threshold \(NumberFormat.short(value)) saved to \(store.configFile)"
        } catch {
            state.overlay = .message("could not save the threshold: \(error)")
        }
    }
}
