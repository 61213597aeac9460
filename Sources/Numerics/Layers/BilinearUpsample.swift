/// Bilinear resize with align_corners = false and no antialiasing, as torch's F.interpolate: source
/// coordinate max((i + 0.5) * in/out - 0.5, 0), neighbours clamped to the last row/column.
public struct BilinearUpsample {
    struct Axis {
        var i0: [Int], i1: [Int], lambda: [Float]

        init(from n: Int, to m: Int) {
            let scale = Double(n) / Double(m)
            i0 = []; i1 = []; lambda = []
            for i in 0..<m {
                let src = max((Double(i) + 0.5) * scale - 0.5, 0)
                let a = min(Int(src), n - 1)
                i0.append(a)
                i1.append(min(a + 1, n - 1))
                lambda.append(Float(src - Double(a)))
            }
        }
    }

    public let inH: Int, inW: Int, outH: Int, outW: Int
    let ys: Axis, xs: Axis

    public init(inH: Int, inW: Int, outH: Int, outW: Int) {
        self.inH = inH; self.inW = inW; self.outH = outH; self.outW = outW
        ys = Axis(from: inH, to: outH)
        xs = Axis(from: inW, to: outW)
    }

    /// Resizes `planes` consecutive planes.
    public func forward(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, planes: Int) {
        for p in 0..<planes {
            let s = src + p * inH * inW, d = dst + p * outH * outW
            for oy in 0..<outH { row(oy, of: s, into: d + oy * outW, multiplying: false) }
        }
    }

    /// Output row `oy` of plane `s`, written into `row` or multiplied into it.
    @inline(__always)
    func row(_ oy: Int, of s: UnsafePointer<Float>, into row: UnsafeMutablePointer<Float>, multiplying: Bool) {
        let r0 = s + ys.i0[oy] * inW, r1 = s + ys.i1[oy] * inW, ly = ys.lambda[oy]
        xs.i0.withUnsafeBufferPointer { i0 in
            xs.i1.withUnsafeBufferPointer { i1 in
                xs.lambda.withUnsafeBufferPointer { lambda in
                    for ox in 0..<outW {
                        let a = i0[ox], b = i1[ox], lx = lambda[ox]
                        let top = r0[a] * (1 - lx) + r0[b] * lx
                        let bottom = r1[a] * (1 - lx) + r1[b] * lx
                        let v = top * (1 - ly) + bottom * ly
                        row[ox] = multiplying ? row[ox] * v : v
                    }
                }
            }
        }
    }

    /// The product of several planes, each resized by its own upsampler to their common output size, built
    /// row by row in one pass over the output (STPM's map across pyramid levels); returns each output plane's
    /// maximum. Equal bit for bit to resizing each level and multiplying the planes in order.
    ///
    /// Each level's source rows are interpolated along x once (`horizontal`), then each output row blends
    /// two of them (`blend`), the same operations in the same order as `row`: an upsampling by 4 to 16
    /// reads each source row for 4 to 16 output rows, and the blend is a contiguous loop the compiler
    /// vectorises where `row` gathers every element.
    /// Each plane's rows are split in halves across the threads: scoring runs this between two images'
    /// networks, where the other core would wait for it.
    public static func product(of levels: [(upsampler: BilinearUpsample, planes: UnsafePointer<Float>)],
                               into dst: UnsafeMutablePointer<Float>, planes: Int) -> [Float] {
        let first = levels[0].upsampler, outH = first.outH, outW = first.outW
        precondition(levels.allSatisfy { $0.upsampler.outH == outH && $0.upsampler.outW == outW }, "levels resize to one size")
        let parts = outH > 1 ? 2 : 1
        // The most source rows one part of a plane reads, per level: room for their interpolated copies.
        let spans = levels.map { level in
            (0..<parts).map { level.upsampler.sourceRows((outH * $0 / parts)..<(outH * ($0 + 1) / parts)).count }.max()!
        }
        let scratch = spans.reduce(0, +) * outW
        var partPeaks = [Float](repeating: -.infinity, count: planes * parts)
        partPeaks.withUnsafeMutableBufferPointer { partPeaks in
            parallelChunks(planes * parts, work: planes * outH * outW * levels.count) { _, items in
                withUnsafeTemporaryAllocation(of: Float.self, capacity: max(scratch, 1)) { rows in
                    for item in items {
                        let p = item / parts, part = item % parts
                        let outRows = (outH * part / parts)..<(outH * (part + 1) / parts)
                        // Level l's interpolated source row r is at bases[l] + r * outW.
                        var bases: [UnsafeMutablePointer<Float>] = []
                        var next = rows.baseAddress!
                        for (level, span) in zip(levels, spans) {
                            let up = level.upsampler, sources = up.sourceRows(outRows)
                            let base = next - sources.lowerBound * outW
                            for r in sources { up.horizontal(r, of: level.planes + p * up.inH * up.inW, into: base + r * outW) }
                            bases.append(base)
                            next += span * outW
                        }
                        var peak = -Float.infinity
                        for oy in outRows {
                            let row = dst + (p * outH + oy) * outW
                            for (l, level) in levels.enumerated() {
                                level.upsampler.blend(oy, of: bases[l], into: row, multiplying: l > 0)
                            }
                            // A NaN anywhere makes the peak NaN: a map with NaN must never pass as a finite score.
                            for ox in 0..<outW where !(row[ox] <= peak) { peak = row[ox].isNaN || peak.isNaN ? .nan : row[ox] }
                        }
                        partPeaks[item] = peak
                    }
                }
            }
        }
        return (0..<planes).map { p in
            partPeaks[p * parts..<(p + 1) * parts].reduce(-Float.infinity) { $0.isNaN || $1.isNaN ? .nan : max($0, $1) }
        }
    }

    /// The source rows that output rows `rows` read.
    func sourceRows(_ rows: Range<Int>) -> Range<Int> {
        rows.isEmpty ? 0..<0 : ys.i0[rows.lowerBound]..<(ys.i1[rows.upperBound - 1] + 1)
    }

    /// Source row `r` of plane `s` interpolated along x: `row`'s `top` or `bottom`.
    @inline(__always)
    func horizontal(_ r: Int, of s: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let src = s + r * inW
        xs.i0.withUnsafeBufferPointer { i0 in
            xs.i1.withUnsafeBufferPointer { i1 in
                xs.lambda.withUnsafeBufferPointer { lambda in
                    for ox in 0..<outW {
                        let lx = lambda[ox]
                        out[ox] = src[i0[ox]] * (1 - lx) + src[i1[ox]] * lx
                    }
                }
            }
        }
    }

    /// Output row `oy` from the interpolated source rows at `base + r * outW`, written into `row` or multiplied into it.
    @inline(__always)
    func blend(_ oy: Int, of base: UnsafePointer<Float>, into row: UnsafeMutablePointer<Float>, multiplying: Bool) {
        let top = base + ys.i0[oy] * outW, bottom = base + ys.i1[oy] * outW, ly = ys.lambda[oy]
        if multiplying {
            for ox in 0..<outW { row[ox] = row[ox] * (top[ox] * (1 - ly) + bottom[ox] * ly) }
        } else {
            for ox in 0..<outW { row[ox] = top[ox] * (1 - ly) + bottom[ox] * ly }
        }
    }

    /// Adjoint of `forward`: spreads output gradients back onto the four source pixels.
    public func backward(_ dOut: UnsafePointer<Float>, _ dIn: UnsafeMutablePointer<Float>, planes: Int) {
        dIn.update(repeating: 0, count: planes * inH * inW)
        for p in 0..<planes {
            let g = dOut + p * outH * outW, d = dIn + p * inH * inW
            for oy in 0..<outH {
                let r0 = d + ys.i0[oy] * inW, r1 = d + ys.i1[oy] * inW, ly = ys.lambda[oy]
                for ox in 0..<outW {
                    let a = xs.i0[ox], b = xs.i1[ox], lx = xs.lambda[ox]
                    let v = g[oy * outW + ox]
                    r0[a] += v * (1 - ly) * (1 - lx); r0[b] += v * (1 - ly) * lx
                    r1[a] += v * ly * (1 - lx); r1[b] += v * ly * lx
                }
            }
        }
    }
}
