import Foundation
import Detection

/// One training run on a background thread. Its events go through the queue; the UI pauses
/// and stops it through `control`, which the trainer checks between steps.
final class TrainingRunner: @unchecked Sendable {
    let control = TrainingControl()
    let modelPath: String
    private let imagePaths: [String]
    private let options: TrainingOptions
    private let resume: Bool
    private let events: EventQueue
    private let finished = DispatchSemaphore(value: 0)

    init(imagePaths: [String], options: TrainingOptions, modelPath: String, resume: Bool, events: EventQueue) {
        self.imagePaths = imagePaths; self.options = options; self.modelPath = modelPath; self.resume = resume
        self.events = events
    }

    /// Opens the session on its own thread too: loading images and caching teacher features takes a while.
    func start() {
        let thread = Thread { [self] in
            let store = ModelStore(path: modelPath)
            var outcome: TrainingOutcome?
            var failure: String?
            do {
                let session = try TrainingSession(store: store, imagePaths: imagePaths, options: options,
                                                  resume: resume, control: control) { [events] in events.push(.training($0)) }
                outcome = try session.run()
            } catch {
                failure = "\(error)"
            }
            events.push(.trainingEnded(modelPath: modelPath, outcome: outcome, error: failure,
                                       studentSaved: FileManager.default.fileExists(atPath: store.studentFile)))
            finished.signal()
        }
        thread.name = "stpm-training"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Asks the trainer to stop after its current step (it saves a checkpoint) and waits for
    /// that, up to `timeout` seconds; used when quitting so no step's work is lost.
    func stopAndWait(timeout: Double) -> Bool {
        control.requestStop()
        return finished.wait(timeout: .now() + timeout) == .success
    }
}
