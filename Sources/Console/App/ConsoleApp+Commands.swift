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
        case let .saveThreshold(value, rule):
            send(.engine(Self.saveThreshold(value, rule: rule, modelPath: state.modelPath(of: state.thresholdFocus))))
        case .watchThreshold(let value): watcher?.setThreshold(Float(value))
        case .exportFlagged: startExport()
        case .bell: screen.bell()
        case .quit: break
        }
    }

    /// Scores the test images with the model in `path`, in place of any earlier scorer (of model B for B's generation).
    private func startScoring(with path: String, generation: Int) {
        let jobs = dataset.testIDs.map { (id: $0, path: dataset.samples[$0].path) }
        let worker = ScoringWorker(modelPath: path, jobs: jobs, generation: generation, events: events)
        let replaced = generation == ComparedModel.generation ? comparisonScorer : scorer
        replaced?.cancel()
        if let replaced { retiredScorers.append(replaced) }
        if generation == ComparedModel.generation { comparisonScorer = worker } else { scorer = worker }
        worker.start()
        if let id = state.inspectedID, let sample = dataset.sample(id) { worker.prioritize(id: id, path: sample.path) }
    }

    /// Shows the photograph and ground truth at once; the anomaly map follows from the scorer
    /// when it is not cached yet.
    func inspect(_ id: Int) {
        guard let sample = dataset.sample(id) else { return }
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
        if state.comparison?.anomalyMaps[id] == nil { comparisonScorer?.prioritize(id: id, path: sample.path) }
    }

    /// Stores the threshold through the engine's one writer of config.json; the state learns the outcome as an event.
    static func saveThreshold(_ value: Double, rule: ThresholdRule, modelPath: String?) -> EngineEvent {
        guard let modelPath else { return .thresholdNotSaved("no model open to save the threshold into") }
        let store = ModelStore(path: modelPath)
        do {
            return .thresholdSaved(value: value, saved: try store.saveThreshold(Float(value), rule: rule).saved, configFile: store.configFile)
        } catch {
            return .thresholdNotSaved("\(error)")
        }
    }
}
