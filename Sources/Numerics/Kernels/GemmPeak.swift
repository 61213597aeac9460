import Dispatch

/// GFLOP/s of a square single-precision GEMM through the same path and threads as the convolutions
/// (stpm's AVX-512 kernel or OpenBLAS, as `InstructionSet` chooses): the attainable peak that `stpm bench`
/// relates every figure to. Best of `repeats`.
public func measureSGEMM(size n: Int = 1536, repeats: Int = 3) -> Double {
    let a = UnsafeMutablePointer<Float>.allocate(capacity: n * n), b = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
    let c = UnsafeMutablePointer<Float>.allocate(capacity: n * n)
    defer { a.deallocate(); b.deallocate(); c.deallocate() }
    for i in 0..<(n * n) { a[i] = Float(i % 7) * 0.25 - 0.75; b[i] = Float(i % 5) * 0.5 - 1 }
    c.initialize(repeating: 0, count: n * n)
    var best = Double.infinity
    for _ in 0...repeats {  // the first run warms up
        let start = DispatchTime.now().uptimeNanoseconds
        gemm(m: n, n: n, k: n, a: a, lda: n, b: b, ldb: n, c: c, ldc: n)
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }
    return 2 * Double(n * n * n) / best / 1e9
}
