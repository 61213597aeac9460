import XCTest
import CKernels
@testable import Numerics

/// stpm's AVX-512 GEMM (gemm_avx512.c) against the OpenBLAS path on the same inputs.
///
/// The sizes straddle every block of the kernel: rows 1 ... MR + 1, 2 MR + 3 and 3 MR + 3 (MR = 14: a
/// whole panel, a panel plus one row, narrower panels, and the rows that read B in place vs from a
/// packed strip), MC + 5 (two row blocks); columns around the 16-lane vectors, the 32-column strip and
/// the 4 strips packed at once (161: a second group of one strip and a column); depths 1, 3 and KC + 5
/// (two depth passes, the second accumulating into C). Leading dimensions exceed the widths, and the
/// padding between must stay untouched. With beta 0, C starts as NaN: a kernel that read it would
/// return NaN.
final class GemmKernelTests: XCTestCase {
    /// Two depth passes, the second 5 deep.
    static let twoPasses = Int(STPM_SGEMM_KC) + 5

    struct Case {
        var transA = false
        var transB = false
        var m: Int
        var n: Int
        var k: Int
        var beta: Float = 0
        var scale = false
        var bias = false
        var activation = Activation.identity
        /// A residual term R (rows ldc + 2 apart) added after the bias.
        var residual = false
    }

    let sentinel: Float = 12345

    /// Runs `c` through serialGemm (or gemm when `threaded`) with the given kernel; returns C as stored
    /// (with its padding columns) and the bound sum_p |a||b| + |C| per element.
    func run(_ c: Case, seed: UInt64, avx512: Bool, threaded: Bool = false) -> (c: [Float], bound: [Double], ldc: Int) {
        var rng = SplitMix64(seed: seed)
        let lda = (c.transA ? c.m : c.k) + 3, ldb = (c.transB ? c.k : c.n) + 2, ldc = c.n + 5
        let a = (0..<(c.transA ? c.k : c.m) * lda).map { _ in rng.uniform(-1, 1) }
        let b = (0..<(c.transB ? c.n : c.k) * ldb).map { _ in rng.uniform(-1, 1) }
        let scale = (0..<c.m).map { _ in rng.uniform(-1, 1) * 2 }, bias = (0..<c.m).map { _ in rng.uniform(-1, 1) }
        let ldr = ldc + 2, residual = (0..<c.m * ldr).map { _ in rng.uniform(-2, 2) }
        var out = [Float](repeating: 0, count: c.m * ldc)
        for i in 0..<c.m {
            for j in 0..<ldc { out[i * ldc + j] = j >= c.n ? sentinel : c.beta == 0 ? .nan : rng.uniform(-1, 1) }
        }
        var bound = [Double](repeating: 0, count: c.m * c.n)
        for i in 0..<c.m {
            for j in 0..<c.n {
                var s = c.beta == 0 ? 0 : Double(abs(out[i * ldc + j]))
                for p in 0..<c.k {
                    let x = c.transA ? a[p * lda + i] : a[i * lda + p], y = c.transB ? b[j * ldb + p] : b[p * ldb + j]
                    s += Double(abs(x) * abs(y))
                }
                bound[i * c.n + j] = s * (c.scale ? Double(abs(scale[i])) : 1) + (c.bias ? Double(abs(bias[i])) : 0)
                    + (c.residual ? Double(abs(residual[i * ldr + j])) : 0)
            }
        }
        scale.withUnsafeBufferPointer { s in
            bias.withUnsafeBufferPointer { bi in
                residual.withUnsafeBufferPointer { r in
                    let e = GemmEpilogue(scale: c.scale ? s.baseAddress : nil, bias: c.bias ? bi.baseAddress : nil,
                                         residual: c.residual ? r.baseAddress : nil, ldr: ldr, activation: c.activation)
                    InstructionSet.with(avx512: avx512) {
                        if threaded {
                            gemm(transA: c.transA, transB: c.transB, m: c.m, n: c.n, k: c.k, a: a, lda: lda, b: b, ldb: ldb,
                                 beta: c.beta, c: &out, ldc: ldc, epilogue: e)
                        } else {
                            serialGemm(transA: c.transA, transB: c.transB, m: c.m, n: c.n, k: c.k, a: a, lda: lda, b: b,
                                       ldb: ldb, beta: c.beta, c: &out, ldc: ldc, epilogue: e)
                        }
                    }
                }
            }
        }
        return (out, bound, ldc)
    }

    /// `serialReference`: the OpenBLAS path runs on one thread, so that a fault of the threaded split
    /// (which both paths share) shows.
    func check(_ c: Case, seed: UInt64, threaded: Bool = false, serialReference: Bool = false,
               file: StaticString = #filePath, line: UInt = #line) -> Bool {
        let fast = run(c, seed: seed, avx512: true, threaded: threaded)
        let blas = run(c, seed: seed, avx512: false, threaded: threaded && !serialReference)
        let tolerance = 2 * Double(c.k + 3) * Double(Float.ulpOfOne)
        for i in 0..<c.m {
            for j in 0..<fast.ldc {
                let x = fast.c[i * fast.ldc + j], y = blas.c[i * fast.ldc + j]
                if j >= c.n {
                    guard x == sentinel else {
                        XCTFail("\(c): padding C[\(i), \(j)] overwritten with \(x)", file: file, line: line)
                        return false
                    }
                    continue
                }
                let allowed = tolerance * fast.bound[i * c.n + j] + 1e-30
                guard x.isFinite, abs(Double(x) - Double(y)) <= allowed else {
                    XCTFail("\(c): C[\(i), \(j)] = \(x), OpenBLAS path \(y) (allowed \(allowed))", file: file, line: line)
                    return false
                }
            }
        }
        return true
    }

    static let epilogues: [(Bool, Bool, Activation)] = [false, true].flatMap { s in
        [false, true].flatMap { b in [Activation.identity, .relu, .relu6].map { (s, b, $0) } }
    }

    func testRaggedSizesEveryTranspositionBetaAndEpilogue() throws {
        try XCTSkipUnless(InstructionSet.available, "no AVX-512 on this machine")
        var index = 0
        for transA in [false, true] {
            for transB in [false, true] {
                for beta: Float in [0, 1] {
                    for m in Array(1...15) + [31, 45] {
                        for n in [1, 15, 16, 17, 31, 33, 100, 161] {
                            for k in [1, 3, Self.twoPasses] {
                                // Every epilogue meets every transposition and beta, the cases rotating through them.
                                let (s, b, act) = Self.epilogues[index % Self.epilogues.count]
                                index += 1
                                let c = Case(transA: transA, transB: transB, m: m, n: n, k: k, beta: beta,
                                             scale: s, bias: b, activation: act)
                                guard check(c, seed: UInt64(index)) else { return }
                            }
                        }
                    }
                }
            }
        }
    }

    func testEveryEpilogueOnTwoRowBlocksAndTwoDepthPasses() throws {
        try XCTSkipUnless(InstructionSet.available, "no AVX-512 on this machine")
        for (index, (s, b, act)) in Self.epilogues.enumerated() {
            let c = Case(transA: index % 2 == 1, transB: index % 4 >= 2, m: 341, n: 33, k: Self.twoPasses, beta: Float(index / 6 % 2),
                         scale: s, bias: b, activation: act)
            guard check(c, seed: UInt64(100 + index)) else { return }
        }
    }

    /// A residual term (a residual block's join fused into its last convolution) on every row remainder, column
    /// tail and strip group, with one and two depth passes, in place of and beside every other epilogue.
    func testResidualOnRaggedSizes() throws {
        try XCTSkipUnless(InstructionSet.available, "no AVX-512 on this machine")
        var index = 0
        for m in Array(1...15) + [31, 45, 341] {
            for n in [1, 15, 16, 17, 31, 33, 100, 161] {
                for k in [1, Self.twoPasses] {
                    let (s, b, act) = Self.epilogues[index % Self.epilogues.count]
                    index += 1
                    let c = Case(transB: index % 3 == 0, m: m, n: n, k: k, beta: Float(index / 5 % 2), scale: s, bias: b,
                                 activation: act, residual: true)
                    guard check(c, seed: UInt64(500 + index)) else { return }
                }
            }
        }
    }

    /// The epilogue indexed by column (a channels-last output) against the same product with no epilogue
    /// and the column's scale, bias and activation applied after it, as the row epilogue rounds:
    /// bit for bit, on every transposition, ragged sizes, two row blocks and two depth passes.
    func testColumnEpilogueEqualsTheProductThenEachColumnsEpilogue() throws {
        try XCTSkipUnless(InstructionSet.available, "no AVX-512 on this machine")
        var index = 0
        for transA in [false, true] {
            for transB in [false, true] {
                for m in [1, 13, 15, 45, 341] {
                    for n in [1, 15, 17, 33, 100] {
                        for k in [3, Self.twoPasses] {
                            let (useScale, useBias, act) = Self.epilogues[index % Self.epilogues.count]
                            index += 1
                            var rng = SplitMix64(seed: UInt64(500 + index))
                            let lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 2, ldc = n + 5
                            let a = (0..<(transA ? k : m) * lda).map { _ in rng.uniform(-1, 1) }
                            let b = (0..<(transB ? n : k) * ldb).map { _ in rng.uniform(-1, 1) }
                            let scale = (0..<n).map { _ in rng.uniform(-1, 1) * 2 }, bias = (0..<n).map { _ in rng.uniform(-1, 1) }
                            var product = [Float](repeating: .nan, count: m * ldc), out = product
                            stpm_sgemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, a, lda, b, ldb, 0, &product, ldc, nil, nil, nil, 0,
                                       Activation.identity.kernelCode)
                            stpm_sgemm_column_epilogue(transA ? 1 : 0, transB ? 1 : 0, m, n, k, a, lda, b, ldb, &out, ldc,
                                                       useScale ? scale : nil, useBias ? bias : nil, act.kernelCode)
                            for i in 0..<m {
                                for j in 0..<n {
                                    var v = product[i * ldc + j]
                                    if useScale { v *= scale[j] }
                                    var expected: Float = 0
                                    act.apply([v], &expected, 1, bias: useBias ? bias[j] : 0)
                                    guard out[i * ldc + j].bitPattern == expected.bitPattern else {
                                        XCTFail("transA \(transA) transB \(transB) \(m)x\(n)x\(k) scale \(useScale) bias \(useBias) \(act): C[\(i), \(j)] = \(out[i * ldc + j]), expected \(expected)")
                                        return
                                    }
                                }
                                XCTAssert(out[(i * ldc + n)..<(i * ldc + ldc)].allSatisfy(\.isNaN), "padding of row \(i) untouched")
                            }
                        }
                    }
                }
            }
        }
    }

    /// `gemm` splits C between threads by columns or rows; the epilogue must follow the row blocks.
    func testThreadedSplitsKeepTheEpilogueRows() throws {
        try XCTSkipUnless(InstructionSet.available, "no AVX-512 on this machine")
        let saved = Parallelism.threads
        Parallelism.set(2)
        defer { Parallelism.set(saved) }
        XCTAssert(check(Case(m: 200, n: 70, k: 160, scale: true, bias: true, activation: .relu6), seed: 7, threaded: true))
        XCTAssert(check(Case(transB: true, m: 40, n: 300, k: 190, beta: 1, bias: true, activation: .relu), seed: 8, threaded: true))
        // The residual follows the row and the column blocks (checked against one thread: the split is shared).
        XCTAssert(check(Case(m: 200, n: 70, k: 160, bias: true, activation: .relu, residual: true), seed: 12, threaded: true,
                        serialReference: true))
        XCTAssert(check(Case(m: 40, n: 300, k: 190, scale: true, activation: .relu6, residual: true), seed: 13, threaded: true,
                        serialReference: true))
    }

    /// A deep product with a small C (the weight gradient's) is split by depth between threads, the parts
    /// summed: whole passes, a part of one pass, and a second part left with no depth at all.
    func testDepthSplitSumsEveryPart() throws {
        try XCTSkipUnless(InstructionSet.available, "no AVX-512 on this machine")
        let saved = Parallelism.threads
        Parallelism.set(2)
        defer { Parallelism.set(saved) }
        XCTAssert(check(Case(transB: true, m: 40, n: 70, k: 2 * Self.twoPasses + 67), seed: 9, threaded: true, serialReference: true))
        // The weight gradient's kernel (`stpm_sgemm_nt`) splits by its own depth blocks.
        XCTAssert(check(Case(transB: true, m: 40, n: 70, k: 2 * Int(STPM_SGEMM_NT_KB) + 67, beta: 1), seed: 14, threaded: true,
                        serialReference: true))
        XCTAssert(check(Case(transA: true, m: 33, n: 75, k: 3 * Self.twoPasses), seed: 10, threaded: true, serialReference: true))
        XCTAssert(check(Case(m: 80, n: 80, k: 350), seed: 11, threaded: true, serialReference: true))
    }

    /// The weight gradient's kernel (gemm_nt_avx512.c) called directly against the OpenBLAS path: rows around its
    /// 4 x 6 tiles (both loop orders: m >= n and m < n), depths around the 16-lane vectors and its depth blocks
    /// (the second block adding to the first), beta 0 (C starts as NaN) and 1, padding between rows untouched.
    func testNTKernelOnRaggedSizes() throws {
        try XCTSkipUnless(InstructionSet.available, "no AVX-512 on this machine")
        let kb = Int(STPM_SGEMM_NT_KB)
        var seed: UInt64 = 100
        for m in [1, 2, 3, 4, 5, 7, 9, 13] {
            for n in [1, 5, 6, 7, 12, 13] {
                for k in [1, 15, 16, 17, 47, kb - 1, kb + 17, 2 * kb + 5] {
                    for beta: Float in [0, 1] {
                        seed += 1
                        let c = Case(transB: true, m: m, n: n, k: k, beta: beta)
                        let blas = run(c, seed: seed, avx512: false)
                        var rng = SplitMix64(seed: seed)
                        let lda = k + 3, ldb = k + 2, ldc = n + 5
                        let a = (0..<m * lda).map { _ in rng.uniform(-1, 1) }, b = (0..<n * ldb).map { _ in rng.uniform(-1, 1) }
                        for _ in 0..<(2 * m + m * (ldc + 2)) { _ = rng.uniform(-1, 1) }
                        var out = [Float](repeating: 0, count: m * ldc)
                        for i in 0..<m {
                            for j in 0..<ldc { out[i * ldc + j] = j >= n ? sentinel : beta == 0 ? .nan : rng.uniform(-1, 1) }
                        }
                        stpm_sgemm_nt(m, n, k, a, lda, b, ldb, beta, &out, ldc)
                        let tolerance = 2 * Double(k + 3) * Double(Float.ulpOfOne)
                        for i in 0..<m {
                            for j in 0..<ldc {
                                let x = out[i * ldc + j], y = blas.c[i * ldc + j]
                                let allowed = j >= n ? 0 : tolerance * blas.bound[i * n + j] + 1e-30
                                guard j >= n ? x == sentinel : x.isFinite && abs(Double(x) - Double(y)) <= allowed else {
                                    return XCTFail("\(m)x\(n)x\(k) beta \(beta): C[\(i), \(j)] = \(x), OpenBLAS path \(y)")
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The weight gradient's kernel reading B's rows through a BatchNorm's map gives the bits of the plain kernel
    /// on B mapped first by the portable activation pass, for rows around its tiles, depths around its vectors and
    /// blocks, every activation and both betas; padding between rows of C untouched.
    func testNTKernelReadingMappedRowsGivesTheBitsOfTheMappedOperand() throws {
        try XCTSkipUnless(InstructionSet.available, "no AVX-512 on this machine")
        let kb = Int(STPM_SGEMM_NT_KB)
        var rng = SplitMix64(seed: 300)
        for m in [1, 3, 4, 5, 9] {
            for n in [1, 5, 6, 7, 13] {
                for k in [1, 15, 17, kb - 1, kb + 17, 2 * kb + 5] {
                    for activation in [Activation.identity, .relu, .relu6] {
                        for beta: Float in [0, 1] {
                            let lda = k + 3, ldb = k + 2, ldc = n + 5
                            let a = (0..<m * lda).map { _ in rng.uniform(-1, 1) }, b = (0..<n * ldb).map { _ in rng.uniform(-2, 2) }
                            let scale = (0..<n).map { _ in rng.uniform(-3, 3) }, shift = (0..<n).map { _ in rng.uniform(-1, 5) }
                            var mapped = b
                            InstructionSet.with(avx512: false) {
                                b.withUnsafeBufferPointer { src in
                                    mapped.withUnsafeMutableBufferPointer { dst in
                                        for j in 0..<n {
                                            activation.apply(src.baseAddress! + j * ldb, dst.baseAddress! + j * ldb, k, scale: scale[j],
                                                             shift: shift[j])
                                        }
                                    }
                                }
                            }
                            let start = (0..<m * ldc).map { j in j % ldc >= n ? sentinel : beta == 0 ? .nan : rng.uniform(-1, 1) }
                            var expected = start, out = start
                            stpm_sgemm_nt(m, n, k, a, lda, mapped, ldb, beta, &expected, ldc)
                            stpm_sgemm_nt_mapped(m, n, k, a, lda, b, ldb, scale, shift, activation.kernelCode, beta, &out, ldc)
                            guard out.map(\.bitPattern) == expected.map(\.bitPattern) else {
                                return XCTFail("\(m)x\(n)x\(k) \(activation) beta \(beta): \(out) != \(expected)")
                            }
                        }
                    }
                }
            }
        }
    }

    /// A packed constant operand gives the bits packing per call gives (the same blocks, the same order),
    /// serially and split between threads (by columns, even when m > n), and follows its version.
    func testPackedOperandGivesTheBitsOfPackingPerCall() throws {
        try XCTSkipUnless(InstructionSet.available, "no AVX-512 on this machine")
        let saved = Parallelism.threads
        Parallelism.set(2)
        defer { Parallelism.set(saved) }
        for (m, n, k) in [(341, 70, Self.twoPasses), (20, 33, 5), (14, 1, 1)] {
            var rng = SplitMix64(seed: UInt64(m * n * k))
            var a = (0..<(m * k)).map { _ in rng.uniform(-1, 1) }
            let b = (0..<(k * n)).map { _ in rng.uniform(-1, 1) }
            let bias = (0..<m).map { _ in rng.uniform(-1, 1) }
            let operand = PackedOperand()
            func product(packed: Bool, threaded: Bool, version: Int = 0) -> [Float] {
                var c = [Float](repeating: .nan, count: m * n)
                InstructionSet.with(avx512: true) {
                    bias.withUnsafeBufferPointer { bi in
                        let e = GemmEpilogue(bias: bi.baseAddress, activation: .relu)
                        let p = packed ? operand.packed(a, m: m, k: k, version: version) : nil
                        if threaded {
                            gemm(m: m, n: n, k: k, a: a, lda: k, packedA: p, b: b, ldb: n, c: &c, ldc: n, epilogue: e)
                        } else {
                            serialGemm(m: m, n: n, k: k, a: a, lda: k, packedA: p, b: b, ldb: n, c: &c, ldc: n, epilogue: e)
                        }
                    }
                }
                return c
            }
            let expected = product(packed: false, threaded: false)
            XCTAssertEqual(product(packed: true, threaded: false).map(\.bitPattern), expected.map(\.bitPattern), "\(m)x\(n)x\(k)")
            XCTAssertEqual(product(packed: true, threaded: true).map(\.bitPattern), expected.map(\.bitPattern), "\(m)x\(n)x\(k) threaded")
            a[0] += 1
            XCTAssertEqual(product(packed: true, threaded: false).map(\.bitPattern), expected.map(\.bitPattern), "unchanged version")
            XCTAssertEqual(product(packed: true, threaded: false, version: 1).map(\.bitPattern),
                           product(packed: false, threaded: false).map(\.bitPattern), "new version")
        }
    }

    /// A C of `STPM_SGEMM_STREAM_BYTES` and more, 64-byte aligned with rows a multiple of 16 floats apart, goes out
    /// through streaming stores (gemm_avx512.c): it must hold the bits that plain stores leave in a C one float wider
    /// (which no tile streams), its padding untouched. Ragged columns (the last tile stored as usual), row panels of
    /// 11 and 10, the packed and the unpacked left operand, every epilogue term, and the split between two threads.
    func testStreamedTilesGiveTheBitsOfPlainStores() throws {
        try XCTSkipUnless(InstructionSet.available, "no AVX-512 on this machine")
        let saved = Parallelism.threads
        defer { Parallelism.set(saved) }
        let m = 21, k = 9, streamed = (Int(STPM_SGEMM_STREAM_BYTES) / (4 * m) + 15) / 16 * 16, n = streamed - 3
        var rng = SplitMix64(seed: 31)
        let a = (0..<(m * k)).map { _ in rng.uniform(-1, 1) }, b = (0..<(k * n)).map { _ in rng.uniform(-1, 1) }
        let scale = (0..<m).map { _ in rng.uniform(-2, 2) }, bias = (0..<m).map { _ in rng.uniform(-1, 1) }
        let residual = (0..<(m * n)).map { _ in rng.uniform(-2, 2) }
        let operand = PackedOperand()
        // C rows `ldc` apart from a 64-byte boundary, the columns past n holding the sentinel; returns C's n columns.
        func product(ldc: Int, packed: Bool, epilogue: Bool, threads: Int) -> [Float] {
            let raw = UnsafeMutableRawPointer.allocate(byteCount: m * ldc * 4, alignment: 64)
            defer { raw.deallocate() }
            let c = raw.bindMemory(to: Float.self, capacity: m * ldc)
            for i in 0..<(m * ldc) { c[i] = i % ldc >= n ? sentinel : .nan }
            Parallelism.set(threads)
            InstructionSet.with(avx512: true) {
                scale.withUnsafeBufferPointer { s in
                    bias.withUnsafeBufferPointer { bi in
                        residual.withUnsafeBufferPointer { r in
                            let e = epilogue ? GemmEpilogue(scale: s.baseAddress, bias: bi.baseAddress, residual: r.baseAddress, ldr: n,
                                                            activation: .relu6) : .none
                            gemm(m: m, n: n, k: k, a: a, lda: k, packedA: packed ? operand.packed(a, m: m, k: k, version: 0) : nil,
                                 b: b, ldb: n, c: c, ldc: ldc, epilogue: e)
                        }
                    }
                }
            }
            for i in 0..<m {
                for j in n..<ldc where c[i * ldc + j] != sentinel {
                    XCTFail("C[\(i), \(j)] past the columns overwritten with \(c[i * ldc + j]) (ldc \(ldc))")
                    return []
                }
            }
            return (0..<(m * n)).map { c[$0 / n * ldc + $0 % n] }
        }
        for packed in [false, true] {
            for epilogue in [false, true] {
                for threads in [1, 2] {
                    let plain = product(ldc: streamed + 1, packed: packed, epilogue: epilogue, threads: threads)
                    let stream = product(ldc: streamed, packed: packed, epilogue: epilogue, threads: threads)
                    XCTAssertEqual(stream.count, m * n)
                    XCTAssert(stream.allSatisfy { !$0.isNaN }, "an unwritten element")
                    XCTAssert(stream.map(\.bitPattern) == plain.map(\.bitPattern),
                              "packed \(packed), epilogue \(epilogue), \(threads) threads")
                }
            }
        }
    }

    /// A 1x1 convolution's two backward products in one sweep (`weightAndInputGradients`) give the bits of `gemm`'s
    /// two calls: depths around the nt kernel's blocks, a part of a block, split between two threads (parts of
    /// different lengths) or not (small products), x read as it is and through a row map, dx written and added to.
    func testWeightAndInputGradientsGiveTheBitsOfTwoProducts() throws {
        try XCTSkipUnless(InstructionSet.available, "no AVX-512 on this machine")
        let saved = Parallelism.threads
        defer { Parallelism.set(saved) }
        let kb = Int(STPM_SGEMM_NT_KB)
        for (m, n, k) in [(96, 16, 3 * kb + 100), (40, 24, 6 * kb + 5), (24, 40, 2 * kb + 17), (7, 5, kb - 24), (16, 24, 4 * kb)] {
            var rng = SplitMix64(seed: UInt64(m * n + k))
            let dy = (0..<(m * k)).map { _ in rng.uniform(-1, 1) }, x = (0..<(n * k)).map { _ in rng.uniform(-1, 1) * 4 }
            let w = (0..<(m * n)).map { _ in rng.uniform(-1, 1) }, start = (0..<(n * k)).map { _ in rng.uniform(-1, 1) }
            let scale = (0..<n).map { _ in rng.uniform(0.5, 2) }, shift = (0..<n).map { _ in rng.uniform(-1, 3) }
            for threads in [1, 2] {
                Parallelism.set(threads)
                XCTAssert(gemmReadsMappedB(m: m, n: n, k: k), "\(m)x\(n)x\(k) should run on the nt kernel")
                for mapped in [false, true] {
                    for beta: Float in [0, 1] {
                        scale.withUnsafeBufferPointer { s in
                            shift.withUnsafeBufferPointer { h in
                                let rows = mapped ? RowMap(scale: s.baseAddress!, shift: h.baseAddress!, activation: .relu6) : nil
                                var dw = [Float](repeating: .nan, count: m * n), dx = beta == 0 ? [Float](repeating: .nan, count: n * k) : start
                                var dwExpected = dw, dxExpected = dx
                                InstructionSet.with(avx512: true) {
                                    weightAndInputGradients(m: m, n: n, k: k, dy: dy, lddy: k, x: x, ldx: k, xRows: rows, w: w, dw: &dw,
                                                            dx: &dx, lddx: k, beta: beta)
                                    gemm(transB: true, m: m, n: n, k: k, a: dy, lda: k, b: x, ldb: k, bRows: rows, c: &dwExpected, ldc: n)
                                    gemm(transA: true, m: n, n: k, k: m, a: w, lda: n, b: dy, ldb: k, beta: beta, c: &dxExpected, ldc: k)
                                }
                                let label = "\(m)x\(n)x\(k), \(threads) threads, mapped \(mapped), beta \(beta)"
                                XCTAssert(dw.map(\.bitPattern) == dwExpected.map(\.bitPattern), "dw: " + label)
                                XCTAssert(dx.map(\.bitPattern) == dxExpected.map(\.bitPattern), "dx: " + label)
                                XCTAssert(dw.allSatisfy(\.isFinite) && dx.allSatisfy(\.isFinite), "unwritten: " + label)
                            }
                        }
                    }
                }
            }
        }
    }

    /// NaN in the product reaches the output through ReLU and ReLU6 as on the Swift path (max/min keep it).
    func testNaNPassesTheActivationsAsOnThePortablePath() throws {
        try XCTSkipUnless(InstructionSet.available, "no AVX-512 on this machine")
        let m = 3, n = 20, k = 2
        let a: [Float] = [1, 0, .nan, 1, -1, 0], b = (0..<(k * n)).map { Float($0) - 9 }
        for activation in [Activation.relu, .relu6] {
            var results: [[Float]] = []
            for avx512 in [true, false] {
                var c = [Float](repeating: 0, count: m * n)
                InstructionSet.with(avx512: avx512) {
                    serialGemm(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &c, ldc: n,
                               epilogue: GemmEpilogue(activation: activation))
                }
                results.append(c)
            }
            XCTAssert(results[0][n..<(2 * n)].allSatisfy(\.isNaN), "\(activation): the NaN row")
            XCTAssertEqual(results[0].map(\.bitPattern).enumerated().filter { !results[0][$0.offset].isNaN }.map(\.element),
                           results[1].map(\.bitPattern).enumerated().filter { !results[1][$0.offset].isNaN }.map(\.element))
        }
    }

    /// `stpm_sgemm_b_strips` (op(B) read from strips, as the banded inference forward's producers write them)
    /// against `stpm_sgemm` with the same operands: the same sums in the same order, so the same bits, over
    /// ragged sizes, both transpositions of A (given or packed) and of the B that was cut into strips, the row
    /// epilogue with a residual and the column epilogue. Lanes past column n hold NaN, which must not reach C,
    /// and C's padding columns must stay untouched.
    func testStripsOperandGivesTheBitsOfPackingPerCall() throws {
        guard InstructionSet.available else { throw XCTSkip("no AVX-512 on this machine") }
        let nr = Int(STPM_SGEMM_NR)
        var rng = SplitMix64(seed: 41)
        for m in [1, 15, 3 * 14 + 3, 14 * 24 + 5] {
            for n in [1, 17, 33, 161] {
                for k in [1, 3, Self.twoPasses] {
                    for (transA, transB) in [(false, false), (true, true), (false, true), (true, false)] {
                        for byColumn in [false, true] {
                            let label = "m \(m) n \(n) k \(k) transA \(transA) transB \(transB) byColumn \(byColumn)"
                            let lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 2, ldc = n + 5, ldr = ldc + 1
                            let a = (0..<(transA ? k : m) * lda).map { _ in rng.uniform(-1, 1) }
                            let b = (0..<(transB ? n : k) * ldb).map { _ in rng.uniform(-1, 1) }
                            let channels = byColumn ? n : m
                            let scale = (0..<channels).map { _ in rng.uniform(-2, 2) }, bias = (0..<channels).map { _ in rng.uniform(-1, 1) }
                            let residual = (0..<m * ldr).map { _ in rng.uniform(-2, 2) }
                            var strips = [Float](repeating: 0, count: stpm_sgemm_b_strips_floats(k, n))
                            stpm_sgemm_pack_b_strips(transB ? 1 : 0, k, n, b, ldb, &strips)
                            for j in n..<(n + nr - 1) / nr * nr { for p in 0..<k { strips[j / nr * k * nr + p * nr + j % nr] = .nan } }
                            var packed = [Float](repeating: 0, count: m * k)
                            stpm_sgemm_pack_a(transA ? 1 : 0, m, k, a, lda, &packed)
                            var expected = [Float](repeating: sentinel, count: m * ldc)
                            let act = Activation.relu6.kernelCode
                            if byColumn {
                                stpm_sgemm_column_epilogue(transA ? 1 : 0, transB ? 1 : 0, m, n, k, a, lda, b, ldb, &expected, ldc,
                                                           scale, bias, act)
                            } else {
                                stpm_sgemm(transA ? 1 : 0, transB ? 1 : 0, m, n, k, a, lda, b, ldb, 0, &expected, ldc, scale, bias,
                                           residual, ldr, act)
                            }
                            for usePacked in [false, true] {
                                var got = [Float](repeating: sentinel, count: m * ldc)
                                packed.withUnsafeBufferPointer { pa in
                                    stpm_sgemm_b_strips(transA ? 1 : 0, m, n, k, a, lda, usePacked ? pa.baseAddress : nil, strips,
                                                        &got, ldc, scale, bias, byColumn ? nil : residual, ldr, act, byColumn ? 1 : 0)
                                }
                                let first = got.indices.first { got[$0].bitPattern != expected[$0].bitPattern }
                                XCTAssertNil(first.map { "C[\($0 / ldc), \($0 % ldc)] = \(got[$0]), expected \(expected[$0])" },
                                             "\(label) packed \(usePacked)")
                            }
                        }
                    }
                }
            }
        }
    }
}
