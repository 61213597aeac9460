import Foundation
import Detection

/// What background work (training, scoring, export) reports to the UI thread.
enum EngineEvent: Sendable {
    case training(TrainingEvent)
    /// nil when the run ended normally or was stopped; the error text otherwise.
    case trainingEnded(outcome: TrainingOutcome?, error: String?)
    /// Scoring results carry their worker's generation: a result from a model that has since
    /// been replaced (a finished training) is dropped.
    case modelLoaded(generation: Int, threshold: Threshold?, normalScores: [Float])
    case scored(generation: Int, id: Int, score: Float, map: ScalarMap)
    case scoringFinished(generation: Int, count: Int, seconds: Double)
    case scoringFailed(generation: Int, message: String)
    case exportProgress(String)
    case exportFinished(message: String, failed: Bool)
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
