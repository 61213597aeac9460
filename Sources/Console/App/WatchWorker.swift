import Foundation
import Detection

/// Runs a `WatchSession` on its own thread for the live view: every image it logs becomes an event
/// for the UI thread; the UI's threshold reaches the session between images.
final class WatchWorker: @unchecked Sendable {
    private let modelPath: String
    private let options: WatchOptions
    private let events: EventQueue
    private let lock = NSLock()
    private var session: WatchSession?
    private var pendingThreshold: Float?
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)

    init(modelPath: String, options: WatchOptions, events: EventQueue) {
        self.modelPath = modelPath
        self.options = options
        self.events = events
    }

    func start() {
        let thread = Thread { [self] in run() }
        thread.name = "stpm-watch"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Applies to the images scored from now on.
    func setThreshold(_ value: Float) {
        lock.withLock { pendingThreshold = value }
    }

    /// Finishes the batch in hand (its lines are in the log) and ends.
    func stopAndWait() {
        lock.withLock { stopping = true }
        finished.wait()
    }

    private func run() {
        defer { finished.signal() }
        do {
            let session = try WatchSession(model: try AnomalyModel(path: modelPath), options: options)
            try session.run(shouldStop: { [self] in
                lock.withLock {
                    if let t = pendingThreshold { session.threshold = manualThreshold(t); pendingThreshold = nil }
                    return stopping
                }
            }) { [events] event in
                switch event {
                case .scored(let record, let scored):
                    events.push(.watched(record, map: ScalarMap(width: scored.image.width, height: scored.image.height, values: scored.map)))
                case .unreadable(let record): events.push(.watched(record, map: nil))
                case .status(let status): events.push(.watchStatus(status))
                case .problem(let message): events.push(.watchProblem(message))
                case let .started(logged, _, notes):
                    events.push(.watchProblem((notes + ["watching; the log \(options.log) holds \(logged) images"]).joined(separator: "; ")))
                }
            }
        } catch {
            events.push(.watchProblem("watching stopped: \(error)"))
        }
    }
}
