import Dispatch

/// One job started now on another thread, its result collected later: `stpm score` and `eval` read
/// and resize the next batch's files this way while the networks run on the current one, so decoding
/// fills the moments a core waits (the map, the tails of the two networks) instead of adding to the run.
final class Prefetch<Value>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private var value: Value?

    init(_ job: @escaping () -> Value) {
        DispatchQueue.global(qos: .userInitiated).async {
            self.value = job()
            self.done.signal()
        }
    }

    /// Blocks until the job has finished; call once.
    func wait() -> Value {
        done.wait()
        return value!
    }
}
