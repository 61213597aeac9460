import Foundation
import Detection

/// What the engine reports to the console: the work on background threads (training, scoring,
/// export) and a training run the app just started. The state takes them in `update`, as keys.
enum EngineEvent: Sendable {
    /// A run into `modelPath` began; a resumed one brings the curves its logs recorded.
    case trainingStarted(modelPath: String, epochs: Int, replay: TrainingReplay?)
    case training(TrainingEvent)
    /// `error` is nil when the run ended normally or was stopped; `studentSaved` says whether
    /// the folder now holds a student to score with.
    case trainingEnded(modelPath: String, outcome: TrainingOutcome?, error: String?, studentSaved: Bool)
    /// Scoring results carry their worker's generation: a result from a model that has since
    /// been replaced (a finished training) is dropped.
    case modelLoaded(generation: Int, threshold: Threshold?, normalScores: [Float])
    case scored(generation: Int, id: Int, score: Float, map: ScalarMap)
    case scoringFinished(generation: Int, count: Int, seconds: Double)
    case scoringFailed(generation: Int, message: String)
    /// `s` stored the console's threshold `value` in the model's config.json (as `saved`), or could not.
    case thresholdSaved(value: Double, saved: Threshold, configFile: String)
    case thresholdNotSaved(String)
    case exportProgress(String)
    /// `nextDestination`: the fresh folder the next export would write to, nil to keep the current one.
    case exportFinished(message: String, nextDestination: String?)
    /// The live view's watcher logged an image (map nil: unreadable), or has news.
    case watched(WatchRecord, map: ScalarMap?)
    case watchStatus(WatchStatus)
    case watchProblem(String)
}

/// What changes the console's state.
enum ConsoleEvent: Sendable {
    case key(Key)
    case engine(EngineEvent)
}

/// Hands events from worker threads to the UI thread, which drains it between key reads;
/// pushing never waits on the UI and the UI never waits on a worker.
final class EventQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var pending: [EngineEvent] = []

    func push(_ event: EngineEvent) {
        lock.withLock { pending.append(event) }
    }

    func drain() -> [EngineEvent] {
        lock.withLock {
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
    }
}
