import CKernels

/// Winograd F(4x4, 3x3) for dense stride-1 3x3 convolutions padded by 1 on every side (Lavin & Gray,
/// "Fast Algorithms for Convolutional Neural Networks", 2016, interpolation points 0, ±1, ±2).
///
/// Each 4x4 output tile comes from a 6x6 input tile d: Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A. Summed over
/// input channels, the element-wise product becomes 36 independent GEMMs, one per position e of the
/// transformed 6x6 tile: M_e[O, T] = U_e[O, C] x V_e[C, T] over all T tiles of the batch. That is 36
/// multiply-adds per (tile, output channel, input channel) instead of im2col's 144, for input and output
/// transforms whose cost grows with C + O instead of C x O.
///
/// The tiles go through in blocks of `blockTiles`, each block all the way (input transform, GEMMs,
/// output transform) before the next, so that its V and M stay in the core's cache instead of streaming
/// 36/16 times the input and output through memory; the blocks are split between the threads.
///
/// Layouts: U [36][O][C] (the filter transform, cached by Conv2d per weight version), V [C][36][Tb] and
/// M [O][36][Tb] per block, Tb a multiple of 8 so that both transforms work on eight tiles at a time (one
/// SIMD lane each) with no tail case; the lanes past the last tile are computed and never read back.
/// V_e and M_e are the GEMMs' matrices with rows 36 Tb apart: a transform writes (or reads) the 36
/// positions of one channel's tiles in one contiguous run. As [36][C][Tb] those 36 rows were C Tb floats
/// apart, a multiple of 4 KiB for C = 64 and Tb = 64, all in one L1 set: the input transform of 64
/// channels at 64x64 took 4.7x as long (7x at 256 channels).
/// With `InstructionSet.avx512` both transforms run in CKernels (winograd_avx512.c) on the same layouts, and the
/// input (and the weight gradient's dy) is read where it lies, its zero border made by masked loads; the portable
/// transforms read a padded copy (`winogradSource`). Copying every input into its padded layout first (4 copies per
/// layer and training step: the forward's x, the input gradient's dy, and x and dy again for the weight gradient)
/// took 5-6 % of a ResNet-18 training step.
struct WinogradGeometry {
    let c: Int, o: Int, n: Int, h: Int, w: Int
    /// Images per channel in the tensor the transforms read (more than n for a band of a batch).
    var batch: Int? = nil
    var tilesH: Int { (h + 3) / 4 }
    var tilesW: Int { (w + 3) / 4 }
    var tiles: Int { n * tilesH * tilesW }
    /// The input plane with its zero border: one row/column before, enough after to fill whole tiles.
    var paddedH: Int { tilesH * 4 + 2 }
    var paddedW: Int { tilesW * 4 + 2 }
    var paddedCount: Int { c * n * paddedH * paddedW }
    var filterCount: Int { 36 * o * c }

    /// Tiles per block: V and M of a block within 768 KiB (about a core's L2), but at least 64 tiles
    /// (narrower GEMMs spend more time packing U than multiplying), and no more than the threads' fair
    /// share. A quarter of that budget measured the same within noise; whole-batch V and M (no blocks)
    /// made 64 channels at 64x64, batch 8, about 1.3x slower.
    func blockTiles(threads: Int) -> Int {
        let fit = 196_608 / (36 * (c + o)) / 8 * 8
        let share = ((tiles + threads - 1) / threads + 7) / 8 * 8
        return max(8, min(max(fit, 64), share))
    }

    func blockScratch(_ tb: Int) -> Int { 36 * (c + o) * tb }

    /// The block of `count` tiles from `first`, V and M rows `stride` apart, as winograd_avx512.h takes it.
    func block(first: Int, count: Int, stride tb: Int) -> stpm_winograd_block {
        stpm_winograd_block(n: Int32(n), h: Int32(h), w: Int32(w), tiles_h: Int32(tilesH), tiles_w: Int32(tilesW),
                            first: Int32(first), count: Int32(count), stride: Int32(tb), channel_stride: (batch ?? n) * h * w)
    }
}

private typealias F8 = SIMD8<Float>

/// G (6x3), the filter's interpolation at 0, 1, -1, 2, -2 and infinity, applied to three values.
/// Products by reciprocals: divisions (72 per filter) made this transform 6% of a training step.
@inline(__always)
private func filterPass(_ g0: Double, _ g1: Double, _ g2: Double) -> (Double, Double, Double, Double, Double, Double) {
    let sixth = 1.0 / 6, twelfth = 1.0 / 12, twentyFourth = 1.0 / 24
    return (g0 * 0.25,
            -(g0 + g1 + g2) * sixth,
            -(g0 - g1 + g2) * sixth,
            g0 * twentyFourth + g1 * twelfth + g2 * sixth,
            g0 * twentyFourth - g1 * twelfth + g2 * sixth,
            g2)
}

/// U_e[o, c] = (G g[o, c] Gᵀ)_e for weights [O][C][3][3], in Double so the cached transform is exact to
/// Float rounding. A trained student's weights change every step, so this runs once per training forward.
///
/// U goes out as [36][O][C], or with `packed` (AVX-512 only) as the GEMM reads each U_e (`stpm_sgemm_pack_a`'s layout,
/// 36 O C floats all the same), a panel's outputs at a time in vectors (winograd_filter_avx512.c): packing a row-major U
/// read and wrote 4x the weights again per transform, twice per training step (the forward's U and the input gradient's).
/// Sixteen input channels at a time go through a small buffer and out as 36 runs (of 16 floats, or of a panel's rows
/// times 16): storing each filter's 36 values straight into U, 4 O C bytes apart (a power of two), hit the same cache
/// sets over and over and took 20 ms for a 256x256 layer.
///
/// With `turned` (packed only), `weights` is [C][O][3][3] and filter [o, c] its kernel [c, o] turned by 180° (the input
/// gradient's), read in place.
func winogradFilterTransform(_ weights: UnsafePointer<Float>, _ g: WinogradGeometry, _ u: UnsafeMutablePointer<Float>,
                             packed: Bool, turned: Bool = false) {
    precondition(packed || !turned, "only the packed transform reads turned filters")
    let oc = g.o * g.c, run = 16
    // Each group's first output and rows (one row unpacked); a run of channels from c0 (a multiple of 16, so inside one
    // depth block of the packed layout) lies at `place(o0, c0)` in every U_e.
    let groups: [(first: Int, rows: Int)] = packed ? packedPanels(rows: g.o, depth: g.c) : (0..<g.o).map { ($0, 1) }
    func place(_ o0: Int, _ c0: Int) -> Int {
        guard packed else { return o0 * g.c + c0 }
        var rows = 0
        return stpm_sgemm_packed_a_offset(g.o, g.c, o0, c0, &rows)
    }
    let block = run * (groups.map(\.rows).max() ?? 1)
    parallelFor(groups.count, work: g.filterCount) { range in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 36 * block) { buffer in
            let tmp = buffer.baseAddress!
            for (o, rows) in groups[range] {
                for c0 in stride(from: 0, to: g.c, by: run) {
                    let width = min(run, g.c - c0)
                    if packed {
                        stpm_winograd_filter_group_avx512(weights, g.o, g.c, turned ? 1 : 0, o, Int32(rows), c0, Int32(width), tmp, block)
                    } else {
                        for c in c0..<(c0 + width) {
                            let k = weights + (o * g.c + c) * 9, dst = tmp + (c - c0)
                            @inline(__always) func column(_ j: Int) -> (Double, Double, Double, Double, Double, Double) {
                                filterPass(Double(k[j]), Double(k[3 + j]), Double(k[6 + j]))
                            }
                            // G g, one column of the kernel at a time, then G along each of its six rows.
                            let a = column(0), b = column(1), d = column(2)
                            @inline(__always) func row(_ r: Int, _ t0: Double, _ t1: Double, _ t2: Double) {
                                let v = filterPass(t0, t1, t2), at = dst + r * 6 * block
                                at[0] = Float(v.0); at[block] = Float(v.1); at[2 * block] = Float(v.2)
                                at[3 * block] = Float(v.3); at[4 * block] = Float(v.4); at[5 * block] = Float(v.5)
                            }
                            row(0, a.0, b.0, d.0); row(1, a.1, b.1, d.1); row(2, a.2, b.2, d.2)
                            row(3, a.3, b.3, d.3); row(4, a.4, b.4, d.4); row(5, a.5, b.5, d.5)
                        }
                    }
                    let at = place(o, c0)
                    for e in 0..<36 { (u + e * oc + at).update(from: tmp + e * block, count: width * rows) }
                }
            }
        }
    }
}

/// The row panels (first row, rows) that `stpm_sgemm_pack_a` cuts a rows x depth matrix into.
private func packedPanels(rows m: Int, depth k: Int) -> [(first: Int, rows: Int)] {
    var panels: [(first: Int, rows: Int)] = [], i = 0
    while i < m {
        var rows = 0
        _ = stpm_sgemm_packed_a_offset(m, k, i, 0, &rows)
        panels.append((i, rows))
        i += rows
    }
    return panels
}

/// Bᵀ applied to six vectors.
@inline(__always)
private func inputPass(_ d0: F8, _ d1: F8, _ d2: F8, _ d3: F8, _ d4: F8, _ d5: F8) -> (F8, F8, F8, F8, F8, F8) {
    (4 * d0 - 5 * d2 + d4,
     (d3 + d4) - 4 * (d1 + d2),
     (d4 - d3) + 4 * (d1 - d2),
     (d4 - d2) + 2 * (d3 - d1),
     (d4 - d2) - 2 * (d3 - d1),
     4 * d1 - 5 * d3 + d5)
}

/// Aᵀ applied in place to the six vectors m[0], m[s], ..., m[5s], leaving four in m[0], ..., m[3s].
@inline(__always)
private func outputPass(_ m: UnsafeMutablePointer<F8>, _ s: Int) {
    let m0 = m[0], m5 = m[5 * s]
    let a = m[s] + m[2 * s], b = m[s] - m[2 * s], c = m[3 * s] + m[4 * s], d = m[3 * s] - m[4 * s]
    m[0] = m0 + a + c
    m[s] = b + 2 * d
    m[2 * s] = a + 4 * c
    m[3 * s] = b + 8 * d + m5
}

/// Where each tile of a block lies: its input tile in the padded tensor, its output tile in y, and
/// how much of the output tile is inside the image. Computed once per block, read for every channel.
private struct TileTable {
    let first: Int
    let input: UnsafeMutablePointer<Int>
    let output: UnsafeMutablePointer<Int>
    let rows: UnsafeMutablePointer<Int>
    let cols: UnsafeMutablePointer<Int>

    /// Fills the table for tiles t0 ..< t0 + stride (the image, tile row, tile column order); entries past
    /// the last tile point at the first element so that the padding lanes read valid memory.
    init(_ storage: UnsafeMutablePointer<Int>, _ g: WinogradGeometry, tiles t0: Int, stride tb: Int) {
        first = t0
        input = storage; output = storage + tb; rows = storage + 2 * tb; cols = storage + 3 * tb
        let perImage = g.tilesH * g.tilesW, pw = g.paddedW, pplane = g.paddedH * pw, plane = g.h * g.w
        var n = t0 / perImage, ty = t0 % perImage / g.tilesW, tx = t0 % g.tilesW
        for l in 0..<tb {
            guard n < g.n else { input[l] = 0; output[l] = 0; rows[l] = 0; cols[l] = 0; continue }
            input[l] = n * pplane + ty * 4 * pw + tx * 4
            output[l] = n * plane + ty * 4 * g.w + tx * 4
            rows[l] = min(4, g.h - ty * 4)
            cols[l] = min(4, g.w - tx * 4)
            tx += 1
            if tx == g.tilesW { tx = 0; ty += 1 }
            if ty == g.tilesH { ty = 0; n += 1 }
        }
    }
}

/// What the transforms read for x [C][g.batch][H][W] (the first g.n images of each channel from the pointer given): x
/// itself for the AVX-512 kernels, which read it unpadded, else its copy with the zero border in `padded` [C][N][PH][PW]
/// (`winogradPad`), called only then.
func winogradSource(_ x: UnsafePointer<Float>, _ g: WinogradGeometry,
                    padded: () -> UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
    if InstructionSet.avx512 { return x }
    let p = padded()
    winogradPad(x, g, p)
    return UnsafePointer(p)
}

/// Copies x [C][g.batch][H][W] (the first g.n images of each channel) into `padded` [C][N][PH][PW] with its zero border.
private func winogradPad(_ x: UnsafePointer<Float>, _ g: WinogradGeometry, _ padded: UnsafeMutablePointer<Float>) {
    let pw = g.paddedW, pplane = g.paddedH * pw, plane = g.h * g.w, batch = g.batch ?? g.n
    parallelFor(g.c * g.n, work: g.paddedCount) { planes in
        for p in planes {
            let dst = padded + p * pplane, src = x + (p / g.n * batch + p % g.n) * plane
            dst.update(repeating: 0, count: pw)
            for y in 0..<g.h {
                let row = dst + (y + 1) * pw
                row[0] = 0
                (row + 1).update(from: src + y * g.w, count: g.w)
                (row + 1 + g.w).update(repeating: 0, count: pw - 1 - g.w)
            }
            (dst + (g.h + 1) * pw).update(repeating: 0, count: (g.paddedH - g.h - 1) * pw)
        }
    }
}

/// The whole convolution, block by block: y = activation(conv(x) + bias); `packedU` is U packed for the AVX-512
/// GEMM (`WinogradFilter`, which writes it so; `u` is then not read), nil on the portable path.
func winogradConvolution(_ x: UnsafePointer<Float>, _ u: UnsafePointer<Float>, _ packedU: UnsafePointer<Float>?,
                         _ g: WinogradGeometry,
                         bias: UnsafePointer<Float>?, _ activation: Activation, _ y: UnsafeMutablePointer<Float>,
                         _ ws: Workspace) {
    let source = winogradSource(x, g) { ws.scratch(g.paddedCount) }
    let tb = g.blockTiles(threads: Parallelism.threads)
    let blocks = (g.tiles + tb - 1) / tb
    let scratch = ws.threadScratch(g.blockScratch(tb))
    parallelChunks(blocks, work: Int.max) { chunk, range in
        let v = scratch[chunk], m = v + 36 * g.c * tb
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 4 * tb) { storage in
            withUnsafeTemporaryAllocation(of: F8.self, capacity: 36) { t in
                for b in range {
                    let t0 = b * tb, count = min(tb, g.tiles - t0)
                    let table = TileTable(storage.baseAddress!, g, tiles: t0, stride: tb)
                    winogradInputTransform(source, g, table, count, stride: tb, v, t.baseAddress!)
                    for e in 0..<36 {
                        serialGemm(m: g.o, n: count, k: g.c, a: u + e * g.o * g.c, lda: g.c,
                                   packedA: packedU.map { $0 + e * g.o * g.c }, b: v + e * tb, ldb: 36 * tb, c: m + e * tb, ldc: 36 * tb)
                    }
                    winogradOutputTransform(m, g, table, count, stride: tb, bias: bias, activation, y, t.baseAddress!)
                }
            }
        }
    }
}

/// V_e[c, t] = (Bᵀ d_t B)_e for the 6x6 input tile d_t of the block's `count` tiles (V [C][36][stride]), from what
/// `winogradSource` gave.
private func winogradInputTransform(_ padded: UnsafePointer<Float>, _ g: WinogradGeometry, _ table: TileTable, _ count: Int,
                                    stride tb: Int, _ v: UnsafeMutablePointer<Float>, _ t: UnsafeMutablePointer<F8>) {
    if InstructionSet.avx512 {
        stpm_winograd_input_avx512(padded, Int32(g.c), g.block(first: table.first, count: count, stride: tb), v)
        return
    }
    portableTransform(padded, size: 6, offset: 0, g, table, count, stride: tb, v, t) { d in
        inputPass(d(0), d(1), d(2), d(3), d(4), d(5))
    }
}

/// The portable input and gradient transforms, eight tiles per vector: for each channel the `size` x `size` tile
/// `offset` floats into each tile's window of `padded`, `pass` (which reads its inputs by index) down its columns,
/// then along each of the six rows that gives, into out [C][36][stride].
@inline(__always)
private func portableTransform(_ padded: UnsafePointer<Float>, size: Int, offset: Int, _ g: WinogradGeometry, _ table: TileTable,
                               _ count: Int, stride tb: Int, _ out: UnsafeMutablePointer<Float>, _ t: UnsafeMutablePointer<F8>,
                               _ pass: ((Int) -> F8) -> (F8, F8, F8, F8, F8, F8)) {
    let pw = g.paddedW, pplane = g.paddedH * pw, step = tb * 4
    for c in 0..<g.c {
        let pad = padded + c * g.n * pplane + offset
        for l0 in Swift.stride(from: 0, to: count, by: 8) {
            let at = table.input + l0
            let p0 = pad + at[0], p1 = pad + at[1], p2 = pad + at[2], p3 = pad + at[3]
            let p4 = pad + at[4], p5 = pad + at[5], p6 = pad + at[6], p7 = pad + at[7]
            // Columns first, on vectors gathered straight into registers: building them in memory
            // from scalars and reading them back whole stalls on store forwarding.
            @inline(__always) func d(_ i: Int, _ j: Int) -> F8 {
                let k = i * pw + j
                return F8(p0[k], p1[k], p2[k], p3[k], p4[k], p5[k], p6[k], p7[k])
            }
            for j in 0..<size {
                (t[j], t[6 + j], t[12 + j], t[18 + j], t[24 + j], t[30 + j]) = pass { d($0, j) }
            }
            let dst = UnsafeMutableRawPointer(out + c * 36 * tb + l0)
            for i in 0..<6 {
                let r = t + i * 6
                let row = pass { r[$0] }
                let to = dst + i * 6 * step
                to.storeBytes(of: row.0, as: F8.self)
                to.storeBytes(of: row.1, toByteOffset: step, as: F8.self)
                to.storeBytes(of: row.2, toByteOffset: 2 * step, as: F8.self)
                to.storeBytes(of: row.3, toByteOffset: 3 * step, as: F8.self)
                to.storeBytes(of: row.4, toByteOffset: 4 * step, as: F8.self)
                to.storeBytes(of: row.5, toByteOffset: 5 * step, as: F8.self)
            }
        }
    }
}

/// y[o] = activation(Aᵀ M_t A + bias[o]) for the block's `count` tiles, written to y [O][N][H][W] (tiles
/// overhanging the bottom/right edge are cut).
private func winogradOutputTransform(_ m: UnsafePointer<Float>, _ g: WinogradGeometry, _ table: TileTable, _ count: Int,
                                     stride tb: Int, bias: UnsafePointer<Float>?, _ activation: Activation,
                                     _ y: UnsafeMutablePointer<Float>, _ r: UnsafeMutablePointer<F8>) {
    if InstructionSet.avx512 {
        stpm_winograd_output_avx512(m, Int32(g.o), g.block(first: table.first, count: count, stride: tb), bias,
                                    activation.kernelCode, y)
        return
    }
    let plane = g.h * g.w, w = g.w
    for o in 0..<g.o {
        let b = F8(repeating: bias?[o] ?? 0)
        let out = y + o * g.n * plane
        for l0 in Swift.stride(from: 0, to: count, by: 8) {
            let src = m + o * 36 * tb + l0
            for e in 0..<36 { r[e] = load8(src + e * tb) }
            for j in 0..<6 { outputPass(r + j, 6) }
            for i in 0..<4 { outputPass(r + i * 6, 1) }
            for i in 0..<4 {
                for j in 0..<4 {
                    let z = r[i * 6 + j] + b
                    switch activation {
                    case .identity: r[i * 6 + j] = z
                    case .relu: r[i * 6 + j] = z.replacing(with: 0, where: z .< 0)
                    case .relu6: r[i * 6 + j] = z.replacing(with: 0, where: z .< 0).replacing(with: 6, where: z .> 6)
                    }
                }
            }
            for l in l0..<min(l0 + 8, count) {
                let dst = out + table.output[l], lane = l - l0
                for i in 0..<table.rows[l] {
                    for j in 0..<table.cols[l] { dst[i * w + j] = r[i * 6 + j][lane] }
                }
            }
        }
    }
}

/// A applied to four vectors (Aᵀ's transpose, which carries dL/dy's 4x4 tile back to the 6x6 products).
@inline(__always)
private func gradientPass(_ y0: F8, _ y1: F8, _ y2: F8, _ y3: F8) -> (F8, F8, F8, F8, F8, F8) {
    let a = y0 + y2, b = y1 + y3, c = y0 + 4 * y2, d = 2 * y1 + 8 * y3
    return (y0, a + b, a - b, c + d, c - d, y3)
}

/// W_e[o, t] = (A dy_t Aᵀ)_e for the block's `count` tiles (W [O][36][stride]), dy as `winogradSource` gave it (padded
/// as an input: its 4x4 tile one row and one column into the tile's window, zeros past the image).
private func winogradGradientTransform(_ padded: UnsafePointer<Float>, _ g: WinogradGeometry, _ table: TileTable, _ count: Int,
                                       stride tb: Int, _ w: UnsafeMutablePointer<Float>, _ t: UnsafeMutablePointer<F8>) {
    if InstructionSet.avx512 {
        stpm_winograd_gradient_avx512(padded, Int32(g.c), g.block(first: table.first, count: count, stride: tb), w)
        return
    }
    portableTransform(padded, size: 4, offset: g.paddedW + 1, g, table, count, stride: tb, w, t) { y in
        gradientPass(y(0), y(1), y(2), y(3))
    }
}

extension WinogradGeometry {
    /// The lanes a band of `tiles` tiles takes in V and W: whole vectors, and an odd number of them, so that rows 36
    /// strides apart (the GEMMs' operand rows) do not all fall into one L1 set (with 256 tiles they were 9 x 4 KiB apart).
    func weightGradientStride(_ tiles: Int) -> Int {
        let vectors = (tiles + 15) / 16
        return 16 * (vectors | 1)
    }

    /// Floats of `winogradWeightGradient`'s band scratch for bands of `images` images: both padded tensors, V and W. The
    /// AVX-512 path writes no padded tensor, but the bands are sized the same, so that both paths sum the same bands.
    func weightGradientBand(_ images: Int) -> Int {
        (c + o) * images * paddedH * paddedW + 36 * (c + o) * weightGradientStride(images * tilesH * tilesW)
    }

    /// Images per band: V and W of a band within about 8 MB, where they stay in the last-level cache between the
    /// transforms that write them and the GEMMs that read them (64 channels at 64x64, batch 8: 6.2 ms on one thread
    /// against 10.6 ms in bands of 32 MB), but at least 128 tiles, the GEMMs' depth, below which reading and
    /// writing Z per band costs more than that (256 channels at 16x16); never more than `limit` floats.
    func weightGradientImages(limit: Int) -> Int {
        let perImage = weightGradientBand(1), tiles = tilesH * tilesW
        let fit = (2 << 20) / perImage, deep = (128 + tiles - 1) / tiles
        return max(1, min(n, max(fit, deep), limit / perImage))
    }

    /// Z's rows for position e are this many floats apart: O x C rounded to a vector and one more, so that the
    /// final transform's 36 reads per weight are not 4 KiB multiples apart (all in one L1 set).
    var weightGradientZStride: Int { (o * c + 15) / 16 * 16 + 16 }
}

/// The weight gradient of y = conv(x) (g.c inputs, g.o outputs) given dL/dy, by the same transforms as the forward:
/// y_t = Aᵀ [U ⊙ V_t] A with U = G w Gᵀ is linear in U, so dL/dU = Σ_t (A dy_t Aᵀ) ⊙ V_t, and dL/dw = Gᵀ (dL/dU) G.
/// Summed over input and output channels, dL/dU_e[o, c] = Σ_t W_e[o, t] V_e[c, t] is one GEMM per position e with
/// the tiles as its depth: 36 multiply-adds per (tile, o, c) where im2col's GEMM takes 144.
///
/// The images go through in bands (`weightGradientImages`, at most the backward's column budget
/// `Workspace.columnLimit`): each band's transforms split the channels between the threads, then its 36 GEMMs (into
/// Z [36][O][C], accumulated band after band) split the positions, so no partial sums are added afterwards.
/// dw [O][C][3][3] is overwritten.
func winogradWeightGradient(_ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ g: WinogradGeometry,
                            _ dw: UnsafeMutablePointer<Float>, _ ws: Workspace) {
    let images = g.weightGradientImages(limit: ws.columnLimit), zs = g.weightGradientZStride
    let z = ws.scratch(36 * zs + g.weightGradientBand(images))
    let pplane = g.paddedH * g.paddedW
    let paddedX = z + 36 * zs, paddedDy = paddedX + g.c * images * pplane, v = paddedDy + g.o * images * pplane
    withUnsafeTemporaryAllocation(of: Int.self, capacity: 4 * g.weightGradientStride(images * g.tilesH * g.tilesW)) { storage in
        for n0 in stride(from: 0, to: g.n, by: images) {
            let band = WinogradGeometry(c: g.c, o: g.o, n: min(images, g.n - n0), h: g.h, w: g.w, batch: g.n)
            let gradient = WinogradGeometry(c: g.o, o: g.c, n: band.n, h: g.h, w: g.w, batch: g.n)
            let tiles = band.tiles, tb = g.weightGradientStride(tiles), w = v + 36 * g.c * tb
            let sourceX = winogradSource(x + n0 * g.h * g.w, band) { paddedX }
            let sourceDy = winogradSource(dy + n0 * g.h * g.w, gradient) { paddedDy }
            // A part's channels start this many floats into the source.
            let channelFloats = InstructionSet.avx512 ? g.n * g.h * g.w : band.n * pplane
            let table = TileTable(storage.baseAddress!, band, tiles: 0, stride: tb)
            // Each part takes the same share of the inputs and of the outputs: split as one run of c + o channels, the
            // first thread took all the input transforms (six rows read per tile) and the second the cheaper gradient ones.
            let total = g.c + g.o
            parallelFor(total, work: 36 * total * tb) { share in
                withUnsafeTemporaryAllocation(of: F8.self, capacity: 36) { t in
                    let inputs = g.c * share.lowerBound / total..<g.c * share.upperBound / total
                    let outputs = g.c + g.o * share.lowerBound / total..<g.c + g.o * share.upperBound / total
                    if !inputs.isEmpty {
                        let part = WinogradGeometry(c: inputs.count, o: g.o, n: band.n, h: g.h, w: g.w, batch: g.n)
                        winogradInputTransform(sourceX + inputs.lowerBound * channelFloats, part, table, tiles, stride: tb,
                                               v + inputs.lowerBound * 36 * tb, t.baseAddress!)
                    }
                    if !outputs.isEmpty {
                        let o0 = outputs.lowerBound - g.c
                        let part = WinogradGeometry(c: outputs.count, o: g.c, n: band.n, h: g.h, w: g.w, batch: g.n)
                        winogradGradientTransform(sourceDy + o0 * channelFloats, part, table, tiles, stride: tb,
                                                  w + o0 * 36 * tb, t.baseAddress!)
                    }
                }
            }
            parallelFor(36, work: Int.max) { positions in
                for e in positions {
                    serialGemm(transB: true, m: g.o, n: g.c, k: tiles, a: w + e * tb, lda: 36 * tb, b: v + e * tb, ldb: 36 * tb,
                               beta: n0 == 0 ? 0 : 1, c: z + e * zs, ldc: g.c)
                }
            }
        }
    }
    winogradFilterGradient(z, g, dw)
}

private typealias D8 = SIMD8<Double>

/// Gᵀ applied to six vectors: the filter transform's adjoint, from the 6x6 products back to the 3x3 kernel.
@inline(__always)
private func filterGradientPass(_ z0: D8, _ z1: D8, _ z2: D8, _ z3: D8, _ z4: D8, _ z5: D8) -> (D8, D8, D8) {
    let sixth: Double = 1.0 / 6, twelfth: Double = 1.0 / 12, twentyFourth: Double = 1.0 / 24
    let p = z1 + z2, q = z3 + z4
    return (z0 * 0.25 - p * sixth + q * twentyFourth,
            (z2 - z1) * sixth + (z3 - z4) * twelfth,
            (q - p) * sixth + z5)
}

/// dw[o, c] = Gᵀ Z[., o, c] G for Z (dL/dU, rows `weightGradientZStride` apart per position), in Double, eight input
/// channels at a time: one weight at a time (36 scalar reads from 36 rows) took as long as the GEMMs at 256 channels.
/// With `InstructionSet.avx512` in CKernels (winograd_filter_avx512.c), to the same floats.
func winogradFilterGradient(_ z: UnsafePointer<Float>, _ g: WinogradGeometry, _ dw: UnsafeMutablePointer<Float>) {
    let zs = g.weightGradientZStride
    if InstructionSet.avx512 {
        parallelFor(g.o, work: 36 * g.o * g.c) { outs in
            for o in outs { stpm_winograd_filter_gradient_avx512(z, zs, g.c, o, dw) }
        }
        return
    }
    parallelFor(g.o, work: 36 * g.o * g.c) { outs in
        withUnsafeTemporaryAllocation(of: D8.self, capacity: 36) { buffer in
            let e = buffer.baseAddress!
            for o in outs {
                for c0 in stride(from: 0, to: g.c, by: 8) {
                    let width = min(8, g.c - c0), src = z + o * g.c + c0
                    for k in 0..<36 {
                        let row = src + k * zs
                        var f = SIMD8<Float>()
                        if width == 8 { f = UnsafeRawPointer(row).loadUnaligned(as: SIMD8<Float>.self) } else {
                            for l in 0..<width { f[l] = row[l] }
                        }
                        e[k] = D8(f)
                    }
                    // Gᵀ down each of the six columns, then along each of the three rows left.
                    for j in 0..<6 { (e[j], e[6 + j], e[12 + j]) = filterGradientPass(e[j], e[6 + j], e[12 + j], e[18 + j], e[24 + j], e[30 + j]) }
                    for i in 0..<3 {
                        let r = e + 6 * i
                        let (k0, k1, k2) = filterGradientPass(r[0], r[1], r[2], r[3], r[4], r[5])
                        for l in 0..<width {
                            let dst = dw + (o * g.c + c0 + l) * 9 + 3 * i
                            dst[0] = Float(k0[l]); dst[1] = Float(k1[l]); dst[2] = Float(k2[l])
                        }
                    }
                }
            }
        }
    }
}
