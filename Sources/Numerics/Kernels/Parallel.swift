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
    DispatchQueue.concurrentPerform(iterations: threads) { t in
        body(t, (count * t / threads)..<(count * (t + 1) / threads))
    }
}

public enum Parallelism {
    /// Threads for every loop and GEMM (the CLI's --threads).
    nonisolated(unsafe) public static var threads = ProcessInfo.processInfo.activeProcessorCount
    nonisolated(unsafe) private static var blasConfigured = false

    public static func set(_ n: Int) { threads = max(1, n) }

    /// OpenBLAS itself stays single-threaded: `gemm` splits large products across this pool.
    static func configureBLAS() {
        guard !blasConfigured else { return }
        blasConfigured = true
        setBLASThreads(1)
    }
}
