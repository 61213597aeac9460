/// Winograd F(4x4, 3x3) for dense stride-1 3x3 convolutions padded by 1 on every side (Lavin & Gray,
/// "Fast Algorithms for Convolutional Neural Networks", 2016, interpolation points 0, ±1, ±2).
///
/// Each 4x4 output tile comes from a 6x6 input tile d: Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A. Summed over
/// input channels, the element-wise product becomes 36 independent GEMMs, one per position e of the
/// transformed 6x6 tile: M_e[O, T] = U_e[O, C] x V_e[C, T] over all T tiles of the batch. That is 36
/// multiply-adds per (tile, output channel, input channel) instead of im2col's 144, for input and output
/// transforms whose cost grows with C + O instead of C x O.
///
/// Layouts: U [36][O][C] (the filter transform, cached by Conv2d per weight version), V [36][C][Tp] and
/// M [36][O][Tp], Tp being the tile count rounded up to 8 so that both transforms work on eight tiles at
/// a time (one SIMD lane each) with no tail case; the padding lanes are computed and never read back.
struct WinogradGeometry {
    let c: Int, o: Int, n: Int, h: Int, w: Int
    var tilesH: Int { (h + 3) / 4 }
    var tilesW: Int { (w + 3) / 4 }
    var tiles: Int { n * tilesH * tilesW }
    var tileStride: Int { (tiles + 7) / 8 * 8 }
    /// The input plane with its zero border: one row/column before, enough after to fill whole tiles.
    var paddedH: Int { tilesH * 4 + 2 }
    var paddedW: Int { tilesW * 4 + 2 }
    var filterCount: Int { 36 * o * c }
    /// Floats of V followed by M.
    var scratchCount: Int { 36 * (c + o) * tileStride }
}

private typealias F8 = SIMD8<Float>

/// G (6x3): the filter's interpolation at 0, 1, -1, 2, -2 and infinity.
private let filterInterpolation: [[Double]] = [
    [1.0 / 4, 0, 0],
    [-1.0 / 6, -1.0 / 6, -1.0 / 6],
    [-1.0 / 6, 1.0 / 6, -1.0 / 6],
    [1.0 / 24, 1.0 / 12, 1.0 / 6],
    [1.0 / 24, -1.0 / 12, 1.0 / 6],
    [0, 0, 1],
]

/// U_e[o, c] = (G g[o, c] Gᵀ)_e for weights [O][C][3][3], in Double so the cached transform is exact to
/// Float rounding.
func winogradFilterTransform(_ weights: UnsafePointer<Float>, _ g: WinogradGeometry, _ u: UnsafeMutablePointer<Float>) {
    let gm = filterInterpolation, oc = g.o * g.c
    parallelFor(g.o, work: g.filterCount) { outs in
        for o in outs {
            for c in 0..<g.c {
                let k = weights + (o * g.c + c) * 9
                for r in 0..<6 {
                    // Row r of G g (a 3-vector), then its products with the rows of G.
                    var t = (0.0, 0.0, 0.0)
                    for i in 0..<3 {
                        t.0 += gm[r][i] * Double(k[i * 3])
                        t.1 += gm[r][i] * Double(k[i * 3 + 1])
                        t.2 += gm[r][i] * Double(k[i * 3 + 2])
                    }
                    for s in 0..<6 {
                        u[(r * 6 + s) * oc + o * g.c + c] = Float(t.0 * gm[s][0] + t.1 * gm[s][1] + t.2 * gm[s][2])
                    }
                }
            }
        }
    }
}

/// Bᵀ applied in place to the six vectors v[0], v[s], ..., v[5s].
@inline(__always)
private func inputPass(_ v: UnsafeMutablePointer<F8>, _ s: Int) {
    let d0 = v[0], d1 = v[s], d2 = v[2 * s], d3 = v[3 * s], d4 = v[4 * s], d5 = v[5 * s]
    v[0] = 4 * d0 - 5 * d2 + d4
    v[s] = (d3 + d4) - 4 * (d1 + d2)
    v[2 * s] = (d4 - d3) + 4 * (d1 - d2)
    v[3 * s] = (d4 - d2) + 2 * (d3 - d1)
    v[4 * s] = (d4 - d2) - 2 * (d3 - d1)
    v[5 * s] = 4 * d1 - 5 * d3 + d5
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

/// Walks the tiles of a batch in order (image, tile row, tile column), eight at a time.
private struct TileCursor {
    let g: WinogradGeometry
    var n = 0, ty = 0, tx = 0

    init(_ g: WinogradGeometry) { self.g = g }

    /// The next eight tiles' offsets, as `offset(n, 4 ty, 4 tx)`; lanes past the last tile get 0.
    mutating func next(_ offset: (Int, Int, Int) -> Int) -> SIMD8<Int> {
        var lanes = SIMD8<Int>()
        for l in 0..<8 where n < g.n {
            lanes[l] = offset(n, ty * 4, tx * 4)
            tx += 1
            if tx == g.tilesW { tx = 0; ty += 1 }
            if ty == g.tilesH { ty = 0; n += 1 }
        }
        return lanes
    }
}

/// V_e[c, t] = (Bᵀ d_t B)_e for the 6x6 input tile d_t of every tile t, from x [C][N][H][W].
func winogradInputTransform(_ x: UnsafePointer<Float>, _ g: WinogradGeometry, _ v: UnsafeMutablePointer<Float>, _ ws: Workspace) {
    let ph = g.paddedH, pw = g.paddedW, padded = ph * pw, plane = g.h * g.w
    let tp = g.tileStride, ctp = g.c * tp
    let scratch = ws.threadScratch(g.n * padded)
    parallelChunks(g.c, work: 36 * ctp) { chunk, channels in
        let pad = scratch[chunk]
        // The border stays zero: every channel overwrites the same interior.
        pad.update(repeating: 0, count: g.n * padded)
        withUnsafeTemporaryAllocation(of: F8.self, capacity: 36) { buf in
            let d = buf.baseAddress!
            for c in channels {
                for n in 0..<g.n {
                    for y in 0..<g.h {
                        (pad + n * padded + (y + 1) * pw + 1).update(from: x + (c * g.n + n) * plane + y * g.w, count: g.w)
                    }
                }
                var cursor = TileCursor(g)
                for t0 in stride(from: 0, to: tp, by: 8) {
                    let at = cursor.next { n, y, x in n * padded + y * pw + x }
                    let p0 = pad + at[0], p1 = pad + at[1], p2 = pad + at[2], p3 = pad + at[3]
                    let p4 = pad + at[4], p5 = pad + at[5], p6 = pad + at[6], p7 = pad + at[7]
                    for i in 0..<6 {
                        for j in 0..<6 {
                            let k = i * pw + j
                            d[i * 6 + j] = F8(p0[k], p1[k], p2[k], p3[k], p4[k], p5[k], p6[k], p7[k])
                        }
                    }
                    for j in 0..<6 { inputPass(d + j, 6) }
                    for i in 0..<6 { inputPass(d + i * 6, 1) }
                    let dst = UnsafeMutableRawPointer(v + c * tp + t0)
                    for e in 0..<36 { dst.storeBytes(of: d[e], toByteOffset: e * ctp * 4, as: F8.self) }
                }
            }
        }
    }
}

/// M_e = U_e x V_e for the 36 positions, split between the threads by position.
func winogradProducts(_ u: UnsafePointer<Float>, _ v: UnsafePointer<Float>, _ g: WinogradGeometry, _ m: UnsafeMutablePointer<Float>) {
    let tp = g.tileStride
    parallelFor(36, work: 36 * g.o * g.c * g.tiles) { elements in
        for e in elements {
            serialGemm(m: g.o, n: g.tiles, k: g.c, a: u + e * g.o * g.c, lda: g.c,
                       b: v + e * g.c * tp, ldb: tp, c: m + e * g.o * tp, ldc: tp)
        }
    }
}

/// y[o] = activation(Aᵀ M_t A + bias[o]) for every tile t, written to y [O][N][H][W] (tiles overhanging
/// the bottom/right edge are cut).
func winogradOutputTransform(_ m: UnsafePointer<Float>, _ g: WinogradGeometry, bias: UnsafePointer<Float>?,
                             _ activation: Activation, _ y: UnsafeMutablePointer<Float>) {
    let tp = g.tileStride, otp = g.o * tp, plane = g.h * g.w, h = g.h, w = g.w
    parallelFor(g.o, work: 36 * otp) { outs in
        withUnsafeTemporaryAllocation(of: F8.self, capacity: 36) { buf in
            let r = buf.baseAddress!
            for o in outs {
                let b = F8(repeating: bias?[o] ?? 0)
                let out = y + o * g.n * plane
                var cursor = TileCursor(g)
                for t0 in stride(from: 0, to: tp, by: 8) {
                    let src = m + o * tp + t0
                    for e in 0..<36 { r[e] = load8(src + e * otp) }
                    for j in 0..<6 { outputPass(r + j, 6) }
                    for i in 0..<4 { outputPass(r + i * 6, 1) }
                    for i in 0..<4 {
                        for j in 0..<4 {
                            let z = r[i * 6 + j] + b
                            switch activation {
                            case .identity: r[i * 6 + j] = z
                            case .relu: r[i * 6 + j] = pointwiseMax(z, F8())
                            case .relu6: r[i * 6 + j] = pointwiseMin(pointwiseMax(z, F8()), F8(repeating: 6))
                            }
                        }
                    }
                    // Tile origins (image, y, x) packed in one offset each: n * plane + y * w + x.
                    let at = cursor.next { n, ty, tx in n * plane + ty * w + tx }
                    for l in 0..<min(8, g.tiles - t0) {
                        let origin = at[l], inPlane = origin % plane
                        let rows = min(4, h - inPlane / w), cols = min(4, w - inPlane % w)
                        let dst = out + origin
                        for i in 0..<rows {
                            for j in 0..<cols { dst[i * w + j] = r[i * 6 + j][l] }
                        }
                    }
                }
            }
        }
    }
}
