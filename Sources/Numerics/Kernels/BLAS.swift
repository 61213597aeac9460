import CKernels
import Foundation
import COpenBLAS

/// What a GEMM applies to each element of C before storing it, per row i of C (per output channel of a
/// convolution): y = activation(scale[i] * x + bias[i] + R[i, j]), a nil pointer meaning 1 or 0. R, the
/// shortcut of a residual block whose join is fused into its last convolution, is laid out as C is (rows
/// `ldr` apart, the same column origin). The AVX-512 kernel does it in registers; the OpenBLAS path in one
/// pass after the product.
struct GemmEpilogue {
    var scale: UnsafePointer<Float>? = nil
    var bias: UnsafePointer<Float>? = nil
    var residual: UnsafePointer<Float>? = nil
    var ldr = 0
    var activation: Activation = .identity

    static let none = GemmEpilogue()

    var isNone: Bool { scale == nil && bias == nil && residual == nil && activation == .identity }

    /// Applies the epilogue in place to C[m,n] (rows `ldc` apart): a pass after a product that could not
    /// fuse it, with the roundings of the AVX-512 kernel's (multiply, add the bias, add R).
    func apply(_ c: UnsafeMutablePointer<Float>, m: Int, n: Int, ldc: Int) {
        guard !isNone else { return }
        for i in 0..<m {
            let row = c + i * ldc
            if let s = scale?[i] { for j in 0..<n { row[j] *= s } }
            guard let r = residual.map({ $0 + i * ldr }) else {
                activation.apply(row, row, n, bias: bias?[i] ?? 0)
                continue
            }
            if let b = bias?[i] { for j in 0..<n { row[j] += b } }
            for j in 0..<n { row[j] += r[j] }
            activation.apply(row, row, n, bias: 0)
        }
    }

    /// The same epilogue for rows `i0...` of C.
    func rows(from i0: Int) -> GemmEpilogue {
        GemmEpilogue(scale: scale.map { $0 + i0 }, bias: bias.map { $0 + i0 }, residual: residual.map { $0 + i0 * ldr },
                     ldr: ldr, activation: activation)
    }

    /// The same epilogue for columns `j0...` of C.
    func columns(from j0: Int) -> GemmEpilogue {
        var e = self
        e.residual = residual.map { $0 + j0 }
        return e
    }
}

/// Rows of a weight gradient's right operand (B stored n x k, one row per column of C) read as
/// activation(B[j, p] * scale[j] + shift[j]): a train-mode BatchNorm's output that no tensor holds
/// (`stpm_sgemm_nt_mapped`, only where `gemmReadsMappedB`).
struct RowMap {
    let scale: UnsafePointer<Float>
    let shift: UnsafePointer<Float>
    let activation: Activation
}

/// Whether `gemm(transB: true, ...)` of these sizes (no packed A, no epilogue) runs every part on
/// stpm_sgemm_nt, the only kernel that reads B through a `RowMap`: as `gemm` and `serialGemm` choose.
func gemmReadsMappedB(m: Int, n: Int, k: Int) -> Bool {
    let deep = { (depth: Int) in depth >= 4 * max(m, n) }
    guard InstructionSet.avx512, deep(k) else { return false }
    let threads = Parallelism.threads
    guard threads > 1, m * n * k >= 1 << 21 else { return true }
    let block = depthSplitBlock(k: k, threads: threads, nt: true)
    return (0..<threads).allSatisfy { t in deep(min(block, k - min(t * block, k))) }
}

/// Row-major single-precision GEMM: C[m,n] = epilogue(op(A) * op(B) + beta * C), beta 0 or 1 (0 never reads C).
/// Leading dimensions are those of the matrices as stored (row-major), so callers describe
/// sub-blocks of CNHW tensors without copying them.
///
/// The kernel (stpm's AVX-512 one where `InstructionSet.avx512`, else OpenBLAS) runs single-threaded;
/// large products are split here into one block of C per core and run on the same thread pool as the
/// hand-written loops. One pool instead of two means no OpenBLAS worker spinning for work while the other
/// loops run, which cost ~10% of training time.
///
/// `packedA`, when given, is `a` as `PackedOperand` packed it (op(A) untransposed): the AVX-512 kernel
/// reads it instead of packing `a` again; the portable path reads `a`. `bRows`, only where `gemmReadsMappedB`,
/// maps the rows of B (`RowMap`).
func gemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
          a: UnsafePointer<Float>, lda: Int, packedA: UnsafePointer<Float>? = nil, b: UnsafePointer<Float>, ldb: Int,
          bRows: RowMap? = nil, beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: GemmEpilogue = .none) {
    precondition(bRows == nil || (transB && !transA && packedA == nil && epilogue.isNone && gemmReadsMappedB(m: m, n: n, k: k)),
                 "gemm: only stpm_sgemm_nt reads mapped rows of B")
    let threads = Parallelism.threads
    guard threads > 1, m * n * k >= 1 << 21 else {
        serialGemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, packedA: packedA, b: b, ldb: ldb,
                   bRows: bRows, beta: beta, c: c, ldc: ldc, epilogue: epilogue)
        return
    }
    if packedA == nil, epilogue.isNone, k >= 4 * max(m, n) {
        depthSplitGemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, bRows: bRows, beta: beta,
                       c: c, ldc: ldc, threads: threads)
        return
    }
    // A packed operand is split by columns only: its row panels are laid out for the whole of A.
    if n >= m || packedA != nil {
        // Column blocks of C (multiples of 32 keep both kernels' panels whole).
        let block = ((n + threads - 1) / threads + 31) / 32 * 32
        parallelChunks(threads, work: Int.max) { _, range in
            for t in range {
                let j0 = t * block, cols = min(block, n - j0)
                guard cols > 0 else { continue }
                serialGemm(transA: transA, transB: transB, m: m, n: cols, k: k, a: a, lda: lda, packedA: packedA,
                           b: transB ? b + j0 * ldb : b + j0, ldb: ldb, beta: beta, c: c + j0, ldc: ldc,
                           epilogue: epilogue.columns(from: j0))
            }
        }
    } else {
        let block = ((m + threads - 1) / threads + 15) / 16 * 16
        parallelChunks(threads, work: Int.max) { _, range in
            for t in range {
                let i0 = t * block, rows = min(block, m - i0)
                guard rows > 0 else { continue }
                serialGemm(transA: transA, transB: transB, m: rows, n: n, k: k, a: transA ? a + i0 : a + i0 * lda, lda: lda,
                           b: b, ldb: ldb, beta: beta, c: c + i0 * ldc, ldc: ldc, epilogue: epilogue.rows(from: i0))
            }
        }
    }
}

/// A deep product with a small C (the weight gradient dy * cols^T: k = batch * plane) split by depth: each
/// core packs and streams its own part of both operands, where a split of C would have every core stream
/// all of the larger one (and leave a core idle when m and n are a few blocks). The partial products are
/// summed in a fixed order, so the result depends on the thread count only. `beta` applies to the first
/// part, which the others are added to (a weight gradient accumulated over bands of images).
private func depthSplitGemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                            b: UnsafePointer<Float>, ldb: Int, bRows: RowMap?, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
                            threads: Int) {
    let partials = PartialProducts.buffer((threads - 1) * m * n)
    let block = depthSplitBlock(k: k, threads: threads, nt: InstructionSet.avx512 && transB && !transA)
    parallelChunks(threads, work: Int.max) { _, range in
        for t in range {
            let p0 = min(t * block, k), depth = min(block, k - p0)
            let out = t == 0 ? c : partials + (t - 1) * m * n
            // A part with no depth left stores zeros (beta 0).
            serialGemm(transA: transA, transB: transB, m: m, n: n, k: depth, a: transA ? a + p0 * lda : a + p0, lda: lda,
                       b: transB ? b + p0 : b + p0 * ldb, ldb: ldb, bRows: bRows, beta: t == 0 ? beta : 0, c: out, ldc: t == 0 ? ldc : n)
        }
    }
    for t in 1..<threads {
        let part = partials + (t - 1) * m * n
        for i in 0..<m {
            let row = c + i * ldc, src = part + i * n
            for j in 0..<n { row[j] += src[j] }
        }
    }
}

/// A 1x1 convolution's two backward products in one sweep over dy (m x k, rows `lddy` apart): the weight gradient
/// dw = dy * x^T (m x n, x stored n x k, its rows read through `xRows` where given) and the input gradient
/// dx = beta dx + w^T * dy (n x k, w stored m x n), each block of `STPM_SGEMM_NT_KB` positions of dy read by the
/// second product while the first has just brought it into cache (dy is the widest tensor of an inverted residual's
/// backward pass, 8-50 MB, which the two products otherwise each streamed from memory). dw is summed as
/// `gemm(transB: true, ...)` sums it on stpm_sgemm_nt (the same parts, depth blocks and order), dx as `gemm` computes
/// it: the same floats. Only where `gemmReadsMappedB(m: m, n: n, k: k)`.
func weightAndInputGradients(m: Int, n: Int, k: Int, dy: UnsafePointer<Float>, lddy: Int, x: UnsafePointer<Float>, ldx: Int,
                             xRows: RowMap?, w: UnsafePointer<Float>, dw: UnsafeMutablePointer<Float>,
                             dx: UnsafeMutablePointer<Float>, lddx: Int, beta: Float) {
    precondition(gemmReadsMappedB(m: m, n: n, k: k), "weightAndInputGradients: every part must run on stpm_sgemm_nt")
    let threads = Parallelism.threads, split = threads > 1 && m * n * k >= 1 << 21
    let parts = split ? threads : 1, block = split ? depthSplitBlock(k: k, threads: threads, nt: true) : k
    let partials = split ? PartialProducts.buffer((parts - 1) * m * n) : dw, kb = Int(STPM_SGEMM_NT_KB)
    parallelChunks(parts, work: Int.max) { _, range in
        for t in range {
            let p0 = min(t * block, k), depth = min(block, k - p0), out = t == 0 ? dw : partials + (t - 1) * m * n
            // stpm_sgemm_nt adds each depth block's sums to C in turn: one block per call, the first with beta 0, is the same.
            for q in stride(from: p0, to: p0 + depth, by: kb) {
                let length = min(kb, p0 + depth - q), keep: Float = q > p0 ? 1 : 0
                if let r = xRows {
                    stpm_sgemm_nt_mapped(m, n, length, dy + q, lddy, x + q, ldx, r.scale, r.shift, r.activation.kernelCode, keep, out, n)
                } else {
                    stpm_sgemm_nt(m, n, length, dy + q, lddy, x + q, ldx, keep, out, n)
                }
                serialGemm(transA: true, m: n, n: length, k: m, a: w, lda: n, b: dy + q, ldb: lddy, beta: beta, c: dx + q, ldc: lddx)
            }
        }
    }
    for t in 1..<parts {
        let part = partials + (t - 1) * m * n
        for i in 0..<m {
            let row = dw + i * n, src = part + i * n
            for j in 0..<n { row[j] += src[j] }
        }
    }
}

/// The depth of each core's part in `depthSplitGemm`: whole depth passes of the kernel (`nt`: stpm_sgemm_nt's).
private func depthSplitBlock(k: Int, threads: Int, nt: Bool) -> Int {
    let kc = Int(nt ? STPM_SGEMM_NT_KB : STPM_SGEMM_KC)
    return ((k + threads - 1) / threads + kc - 1) / kc * kc
}

/// The depth split's partial products, per calling thread, grown to the largest split seen and kept:
/// every weight gradient of a training step needs one, and a fresh allocation of a few MB per call is
/// a fresh mapping whose pages fault in again.
private enum PartialProducts {
    final class Buffer {
        var pointer: UnsafeMutablePointer<Float>?
        var capacity = 0
        deinit { pointer?.deallocate() }
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { p in
            if let p { Unmanaged<Buffer>.fromOpaque(p).release() }
        }
        return key
    }()

    static func buffer(_ count: Int) -> UnsafeMutablePointer<Float> {
        let buffer: Buffer
        if let p = pthread_getspecific(key) {
            buffer = Unmanaged<Buffer>.fromOpaque(p).takeUnretainedValue()
        } else {
            buffer = Buffer()
            pthread_setspecific(key, Unmanaged.passRetained(buffer).toOpaque())
        }
        if buffer.capacity < count {
            buffer.pointer?.deallocate()
            buffer.pointer = .allocate(capacity: count)
            buffer.capacity = count
        }
        return buffer.pointer!
    }
}

/// As `gemm`, on the calling thread alone, for callers that split their work across the pool themselves.
func serialGemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                a: UnsafePointer<Float>, lda: Int, packedA: UnsafePointer<Float>? = nil, b: UnsafePointer<Float>, ldb: Int,
                bRows: RowMap? = nil, beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: GemmEpilogue = .none) {
    precondition(beta == 0 || beta == 1, "gemm: beta must be 0 or 1")
    if InstructionSet.avx512, transB, !transA, packedA == nil, epilogue.isNone, k >= 4 * max(m, n) {
        // A weight gradient: both operands are read in place (gemm_nt_avx512.h).
        if let r = bRows {
            stpm_sgemm_nt_mapped(m, n, k, a, lda, b, ldb, r.scale, r.shift, r.activation.kernelCode, beta, c, ldc)
        } else {
            stpm_sgemm_nt(m, n, k, a, lda, b, ldb, beta, c, ldc)
        }
        return
    }
    precondition(bRows == nil, "gemm: only stpm_sgemm_nt reads mapped rows of B")
    if InstructionSet.avx512, let packedA {
        precondition(!transA, "gemm: a packed operand is packed untransposed")
        stpm_sgemm_packed(m, n, k, packedA, transB ? 1 : 0, b, ldb, beta, c, ldc,
                          epilogue.scale, epilogue.bias, epilogue.residual, epilogue.ldr, epilogue.activation.kernelCode)
        return
    }
    if InstructionSet.avx512 {
        stpm_sgemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, a, lda, b, ldb, beta, c, ldc,
                   epilogue.scale, epilogue.bias, epilogue.residual, epilogue.ldr, epilogue.activation.kernelCode)
        return
    }
    Parallelism.configureBLAS()
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                blasint(m), blasint(n), blasint(k), 1, a, blasint(lda), b, blasint(ldb),
                beta, c, blasint(ldc))
    epilogue.apply(c, m: m, n: n, ldc: ldc)
}

/// A GEMM's left operand that stays constant across calls (a layer's weights, their Winograd transform),
/// kept packed in the AVX-512 kernel's layout and repacked only when its version moves: packing per
/// call costs as much as the multiplications of a small GEMM (Winograd's 36 per block of tiles).
final class PackedOperand {
    private var buffer: UnsafeMutablePointer<Float>?
    private var count = 0
    private var version = -1

    deinit { buffer?.deallocate() }

    /// The row-major m x k matrix `a`, packed; nil on the portable path, which reads `a` itself.
    func packed(_ a: UnsafePointer<Float>, m: Int, k: Int, version v: Int) -> UnsafePointer<Float>? {
        guard InstructionSet.avx512 else { return nil }
        // The depth blocks (STPM_SGEMM_KC deep, at pc * m in the packing) are packed on their own, split between the threads.
        let kc = Int(STPM_SGEMM_KC), blocks = (k + kc - 1) / kc
        return kept(count: m * k, version: v) { buffer in
            parallelFor(blocks, work: m * k) { units in
                for unit in units {
                    let pc = unit * kc
                    stpm_sgemm_pack_a(0, m, min(kc, k - pc), a + pc, k, buffer + pc * m)
                }
            }
        }
    }

    /// The right operand op(B) = wᵀ (k x n) of a row-major n x k matrix `w` (a layer's weights whose output
    /// channels are the GEMM's columns), as the kernel's strips (`stpm_sgemm_b_strips`); nil on the portable
    /// path. An operand is either packed or strips, never both.
    func strips(transposing w: UnsafePointer<Float>, n: Int, k: Int, version v: Int) -> UnsafePointer<Float>? {
        guard InstructionSet.avx512 else { return nil }
        return kept(count: stpm_sgemm_b_strips_floats(k, n), version: v) { stpm_sgemm_pack_b_strips(1, k, n, w, k, $0) }
    }

    private func kept(count total: Int, version v: Int, fill: (UnsafeMutablePointer<Float>) -> Void) -> UnsafePointer<Float> {
        if buffer == nil || count != total {
            buffer?.deallocate()
            buffer = .allocate(capacity: max(total, 1))
            count = total
            version = -1
        }
        if version != v {
            fill(buffer!)
            version = v
        }
        return UnsafePointer(buffer!)
    }
}

extension Activation {
    /// The C kernels' code for this activation (gemm_avx512.h).
    var kernelCode: Int32 {
        switch self {
        case .identity: Int32(STPM_ACT_NONE)
        case .relu: Int32(STPM_ACT_RELU)
        case .relu6: Int32(STPM_ACT_RELU6)
        }
    }
}

func setBLASThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }

func stopBLASThreads() { _ = blas_thread_shutdown_() }

/// The kernels OpenBLAS runs sgemm with (its core name, e.g. "Haswell", "SkylakeX").
public var blasCoreName: String { String(cString: openblas_get_corename()) }
