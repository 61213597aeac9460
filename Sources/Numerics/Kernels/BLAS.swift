import COpenBLAS

/// Row-major single-precision GEMM: C[m,n] = alpha * op(A) * op(B) + beta * C.
/// Leading dimensions are those of the matrices as stored (row-major), so callers describe
/// sub-blocks of CNHW tensors without copying them.
///
/// OpenBLAS runs single-threaded; large products are split here into one block of C per core and
/// run on the same thread pool as the hand-written loops. One pool instead of two means no OpenBLAS
/// worker spinning for work while the other loops run, which cost ~10% of training time.
func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
          alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
          b: UnsafePointer<Float>, ldb: Int,
          beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    Parallelism.configureBLAS()
    let threads = Parallelism.threads
    guard threads > 1, m * n * k >= 1 << 21 else {
        sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
        return
    }
    if n >= m {
        // Column blocks of C (multiples of 16 keep the kernels' panels whole).
        let block = ((n + threads - 1) / threads + 15) / 16 * 16
        parallelChunks(threads, work: Int.max) { _, range in
            for t in range {
                let j0 = t * block, cols = min(block, n - j0)
                guard cols > 0 else { continue }
                sgemm(transA, transB, m, cols, k, alpha, a, lda, transB ? b + j0 * ldb : b + j0, ldb, beta, c + j0, ldc)
            }
        }
    } else {
        let block = ((m + threads - 1) / threads + 15) / 16 * 16
        parallelChunks(threads, work: Int.max) { _, range in
            for t in range {
                let i0 = t * block, rows = min(block, m - i0)
                guard rows > 0 else { continue }
                sgemm(transA, transB, rows, n, k, alpha, transA ? a + i0 : a + i0 * lda, lda, b, ldb, beta, c + i0 * ldc, ldc)
            }
        }
    }
}

/// C = A x B on the calling thread alone, for callers that split their work across the pool themselves.
func serialGemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                c: UnsafeMutablePointer<Float>, ldc: Int) {
    Parallelism.configureBLAS()
    sgemm(false, false, m, n, k, 1, a, lda, b, ldb, 0, c, ldc)
}

@inline(__always)
private func sgemm(_ transA: Bool, _ transB: Bool, _ m: Int, _ n: Int, _ k: Int, _ alpha: Float,
                   _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ ldb: Int,
                   _ beta: Float, _ c: UnsafeMutablePointer<Float>, _ ldc: Int) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
                beta, c, blasint(ldc))
}

func setBLASThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }

/// The kernels OpenBLAS runs sgemm with (its core name, e.g. "Haswell", "SkylakeX").
public var blasCoreName: String { String(cString: openblas_get_corename()) }
