import Foundation

/// Lets another thread (the console, a signal handler) pause or stop a running training between steps.
public final class TrainingControl: @unchecked Sendable {
    private let lock = NSLock()
    private var stop = false
    private var pause = false

    public init() {}

    public var stopRequested: Bool { lock.withLock { stop || SignalFlag.interrupted } }
    public var paused: Bool {
        get { lock.withLock { pause } }
        set { lock.withLock { pause = newValue } }
    }

    public func requestStop() { lock.withLock { stop = true } }

    /// Returns when the run is neither paused nor asked to stop, or at once when asked to stop.
    func waitWhilePaused() {
        while paused && !stopRequested { Thread.sleep(forTimeInterval: 0.1) }
    }
}

/// Ctrl-C during training: the handler only sets a flag; the trainer finishes its step, saves a
/// checkpoint and returns, so the process can exit 0 with nothing lost.
public enum SignalFlag {
    nonisolated(unsafe) static var raised: sig_atomic_t = 0

    public static var interrupted: Bool { raised != 0 }

    public static func install() {
        signal(SIGINT) { _ in SignalFlag.raised = 1 }
        signal(SIGTERM) { _ in SignalFlag.raised = 1 }
    }
}
