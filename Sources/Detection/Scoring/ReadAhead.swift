import CKernels
import Foundation
#if os(Linux)
import Glibc
#endif

/// Reads items 0..<count ahead of their consumers, which take them in order (scoring's lanes, several at a
/// time, each item once): `stpm score` and `eval` decode and resize files this way while the networks run.
///
/// The readers run at the lowest priority (nice 19), so they mostly get CPU the networks leave free (a
/// lane waiting for the other at the end of a chunk, a network for the other at a single image's join).
/// At normal priority a reader would preempt a compute thread that another then waits for: each
/// millisecond of decoding could cost two cores a millisecond. Not SCHED_IDLE: on a busy
/// machine an idle-class thread starves outright, and one starved inside malloc holds the arena lock
/// the consumer needs to free its images (measured: scoring at half speed under load).
/// A consumer never waits for a reader: an item not ready when taken is read by the consumer itself,
/// at its own priority, after it has read what nobody has claimed yet (so a reader starved by other
/// processes delays nothing, and when the networks are faster than the free time allows the consumers
/// decode in their place). With lanes, readers still save time: score of 500 tire PNGs 2.14-2.26 s
/// with them, 2.20-2.33 s with the lanes reading every image themselves.
final class ReadAhead<Value>: @unchecked Sendable {
    private enum Slot { case pending, claimed, ready(Value), taken }

    private let read: (Int) -> Value
    private let count: Int
    private let window: Int
    private let lock = NSCondition()
    private var slots: [Slot]
    /// Items below this were taken by the consumer; readers claim at most `window` items beyond it.
    private var consumed = 0
    private var stopped = false

    /// `window` bounds the items read but not yet taken (memory); `readers` threads read them.
    init(count: Int, window: Int, readers: Int, read: @escaping (Int) -> Value) {
        // Every image allocates and frees buffers of the same sizes (the file, the inflated rows, the pixels,
        // the resized copy); glibc's adaptive thresholds handed some of that memory back to the kernel and
        // faulted it in again, zeroed, while the networks ran.
        stpm_keep_freed_memory()
        self.read = read
        self.count = count
        self.window = max(1, window)
        slots = Array(repeating: .pending, count: count)
        for _ in 0..<min(max(0, readers), count) {
            let thread = Thread { [self] in
                Self.lowerPriority()
                while let i = claim() { store(i, read(i)) }
            }
            thread.start()
        }
    }

    /// Item `i`; call with i = 0, 1, 2... once each, from one thread or several.
    func take(_ i: Int) -> Value {
        lock.lock()
        consumed = max(consumed, i + 1)
        lock.broadcast()
        while true {
            if case .ready(let value) = slots[i] {
                slots[i] = .taken
                lock.unlock()
                return value
            }
            if case .pending = slots[i] {
                slots[i] = .taken
                lock.unlock()
                return read(i)
            }
            // A reader holds `i`: read one that nobody holds meanwhile, or `i` itself when there is none.
            guard let j = firstPending(from: i + 1) else {
                slots[i] = .taken
                lock.unlock()
                return read(i)
            }
            slots[j] = .claimed
            lock.unlock()
            let value = read(j)
            lock.lock()
            slots[j] = .ready(value)
        }
    }

    /// Lets the readers exit (after the item in hand) when the consumer stops before the last item.
    func stop() {
        lock.lock()
        stopped = true
        lock.broadcast()
        lock.unlock()
    }

    private func firstPending(from start: Int) -> Int? {
        (start..<min(count, consumed + window)).first { if case .pending = slots[$0] { true } else { false } }
    }

    private func claim() -> Int? {
        lock.lock()
        defer { lock.unlock() }
        while !stopped {
            if let i = firstPending(from: consumed) {
                slots[i] = .claimed
                return i
            }
            if consumed >= count { return nil }
            lock.wait()
        }
        return nil
    }

    private func store(_ i: Int, _ value: Value) {
        lock.lock()
        // The consumer may have read it itself meanwhile; then this copy is dropped.
        if case .claimed = slots[i] { slots[i] = .ready(value) }
        lock.broadcast()
        lock.unlock()
    }

    /// Nice 19 for the calling thread alone (Linux keeps the nice value per thread; who 0 is this thread).
    private static func lowerPriority() {
        #if os(Linux)
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 19)
        #endif
    }
}
