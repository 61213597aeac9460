import Foundation
import Detection

/// Scores images with one model on its own thread, in the background of the UI: the test
/// images in order, but an image the user opens in the inspector jumps the queue. The model
/// object is not thread-safe, so only this thread touches it.
final class ScoringWorker: @unchecked Sendable {
    let generation: Int
    private let modelPath: String
    private let events: EventQueue
    private let lock = NSLock()
    private var queue: [(id: Int, path: String)]
    private var urgent: [(id: Int, path: String)] = []
    private var cancelled = false
    private var running = false
    private let wake = DispatchSemaphore(value: 0)
    private let ended = DispatchSemaphore(value: 0)

    init(modelPath: String, jobs: [(id: Int, path: String)], generation: Int, events: EventQueue) {
        self.modelPath = modelPath; self.queue = jobs; self.generation = generation; self.events = events
    }

    func start() {
        lock.withLock { running = true }
        let thread = Thread { [self] in
            defer { ended.signal() }
            run()
        }
        thread.name = "stpm-scoring"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Scores `id` next (it may already be queued or even done: scoring it again is cheap).
    func prioritize(id: Int, path: String) {
        lock.withLock { urgent.append((id, path)) }
        wake.signal()
    }

    /// The worker finishes the batch in hand and ends; its late results are dropped by generation.
    func cancel() {
        lock.withLock { cancelled = true }
        wake.signal()
    }

    /// Cancels and returns once the thread has ended: a process that exits while this thread is
    /// inside OpenBLAS crashes in OpenBLAS's teardown (seen as a segfault on `q` during scoring).
    func cancelAndWait() {
        let wasRunning = lock.withLock {
            cancelled = true
            return running
        }
        wake.signal()
        guard wasRunning else { return }
        ended.wait()
        ended.signal()  // for any later caller: the thread stays ended
    }

    private func nextBatch(_ size: Int) -> [(id: Int, path: String)]? {
        lock.withLock {
            if cancelled { return nil }
            if !urgent.isEmpty {
                defer { urgent.removeAll() }
                return urgent
            }
            let batch = Array(queue.prefix(size))
            queue.removeFirst(batch.count)
            return batch
        }
    }

    private func run() {
        let model: AnomalyModel
        do { model = try AnomalyModel(path: modelPath) } catch {
            events.push(.scoringFailed(generation: generation, message: "\(error)"))
            return
        }
        events.push(.modelLoaded(generation: generation, threshold: model.config.threshold, normalScores: model.store.loadNormalScores()))
        let started = Date()
        let total = lock.withLock { queue.count }
        var reportedFinish = false
        while let batch = nextBatch(model.batchSize) {
            if batch.isEmpty {
                if !reportedFinish {
                    reportedFinish = true
                    events.push(.scoringFinished(generation: generation, count: total, seconds: Date().timeIntervalSince(started)))
                }
                wake.wait()
                continue
            }
            // Each image is read in the lane that scores it (`scoreFiles`); an unreadable one is reported and
            // the rest of its batch still scored. A NaN score goes to the list as it is (the state flags it).
            // `each` never throws here (a failure is an event), so neither does `scoreFiles`.
            try? model.scoreFiles(batch.map(\.path)) { k, result in
                let scored: ImageScore
                switch result {
                case .success(let s): scored = s
                case .failure(ScoringError.nonFiniteScore(_, let s)): scored = s
                case .failure(let error):
                    events.push(.scoringFailed(generation: generation, message: "\(error)"))
                    return
                }
                let map = ScalarMap(width: model.size, height: model.size, values: scored.map)
                events.push(.scored(generation: generation, id: batch[k].id, score: scored.score, map: map))
            }
        }
    }
}
