import CKernels
import Dispatch
import Foundation

/// Splits 0..<count into one contiguous range per core and runs them concurrently. GEMMs are
/// threaded by OpenBLAS; this does the same for the hand-written loops (depthwise convolution,
/// BatchNorm, activations, im2col) so they do not leave a core idle.
///
/// `work` is the total number of elements touched: small jobs stay on the calling thread because
/// waking a second thread costs more than they do.
@inline(__always)
public func parallelFor(_ count: Int, work: Int, _ body: (Range<Int>) -> Void) {
    parallelChunks(count, work: work) { _, range in body(range) }
}

/// As `parallelFor`, also passing the chunk's index (below `Parallelism.threads`) so that each
/// chunk can use its own scratch buffer.
@inline(__always)
public func parallelChunks(_ count: Int, work: Int, _ body: (Int, Range<Int>) -> Void) {
    let threads = min(Parallelism.threads, count)
    if threads <= 1 || work < 32_768 {
        body(0, 0..<count)
        return
    }
    let part = { (t: Int) in body(t, (count * t / threads)..<(count * (t + 1) / threads)) }
    if !SpinPool.run(threads, part) { DispatchQueue.concurrentPerform(iterations: threads, execute: part) }
}

/// The worker threads `parallelChunks` runs its parts on (spin_pool.h): they stay awake between the
/// loops of a pass, where Dispatch's went to sleep after each and the calling thread waited at the join
/// for the next wake-up.
enum SpinPool {
    /// body(i) for i in 0..<count on the pool, or false with nothing run when the pool is busy (a nested
    /// call, or another thread's).
    static func run(_ count: Int, _ body: (Int) -> Void) -> Bool {
        withoutActuallyEscaping(body) { body in
            var job = body
            return withUnsafeMutablePointer(to: &job) { p in
                stpm_pool_run(count, { context, i in context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(i) }, p) != 0
            }
        }
    }
}

/// Runs two independent jobs at once, splitting the threads between them: every loop and GEMM inside
/// `first` sees half of `Parallelism.threads`, those in `second` the rest. Two networks side by side
/// (teacher and student at inference) each keep a core busy on whole layers, with none of the
/// splitting, waking and idle tails of small per-layer parallel loops. With one thread they run in turn.
public func concurrently(_ first: () -> Void, _ second: () -> Void) {
    guard Parallelism.threads > 1 else { first(); second(); return }
    Parallelism.split(ways: 2) { $0 == 0 ? first() : second() }
}

public enum Parallelism {
    nonisolated(unsafe) private static var configured = ProcessInfo.processInfo.activeProcessorCount
    nonisolated(unsafe) private static var blasConfigured = false
    /// The share of a thread running one part of `split` (absent elsewhere).
    private static let share: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// Threads for every loop and GEMM started on the calling thread (the CLI's --threads, or this
    /// thread's share inside `concurrently`).
    public static var threads: Int {
        if let p = pthread_getspecific(share) { return Int(bitPattern: p) }
        return configured
    }

    public static func set(_ n: Int) { configured = max(1, n) }

    /// Runs `body(0)`..<`body(ways - 1)` at once, splitting the threads between them: every loop and GEMM
    /// inside `body(k)` sees its share (together they add up to `threads`, each at least one).
    ///
    /// The parts run on `SpinPool`'s workers, which the loops of the parts' passes (the anomaly map's after the
    /// networks) keep awake: on Dispatch's, at one image a time, every image waited for a sleeping thread's wake-up
    /// at the split, and the pool's worker, still spinning after the previous map, took a core from the networks.
    public static func split(ways: Int, _ body: (Int) -> Void) {
        let total = threads
        configureBLAS()
        let part = { (k: Int) in withThreads(total * (k + 1) / ways - total * k / ways) { body(k) } }
        if !SpinPool.run(ways, part) { DispatchQueue.concurrentPerform(iterations: ways, execute: part) }
    }

    /// `body(i)` for i in 0..<count, at most `threads` at a time, each task taken by whichever worker is free:
    /// Dispatch's `concurrentPerform` alone would run them on every core, past `--threads`.
    public static func perform(_ count: Int, _ body: (Int) -> Void) {
        let workers = min(threads, count)
        guard workers > 1 else {
            for i in 0..<count { body(i) }
            return
        }
        let next = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        next.initialize(to: 0)
        defer { next.deallocate() }
        let lock = NSLock()
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                lock.lock()
                let i = next.pointee
                next.pointee += 1
                lock.unlock()
                guard i < count else { return }
                body(i)
            }
        }
    }

    static func withThreads(_ n: Int, _ body: () -> Void) {
        let saved = pthread_getspecific(share)
        pthread_setspecific(share, UnsafeRawPointer(bitPattern: max(1, n)))
        body()
        pthread_setspecific(share, saved)
    }

    /// OpenBLAS itself stays single-threaded: `gemm` splits large products across this pool. Its worker
    /// threads, started when the library loads, are stopped: each spun (sched_yield) for about 2^28 cycles
    /// waiting for work that never comes, 80 ms of CPU at every start of `stpm eval` on 2 cores, beside the
    /// readers and the networks. The CLI calls this first thing.
    public static func configureBLAS() {
        guard !blasConfigured else { return }
        blasConfigured = true
        setBLASThreads(1)
        stopBLASThreads()
    }
}
