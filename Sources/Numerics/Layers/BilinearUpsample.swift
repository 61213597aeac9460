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
    /// Each plane's rows are split in halves across the threads: scoring runs this between two images'
    /// networks, where the other core would wait for it.
    public static func product(of levels: [(upsampler: BilinearUpsample, planes: UnsafePointer<Float>)],
                               into dst: UnsafeMutablePointer<Float>, planes: Int) -> [Float] {
        let first = levels[0].upsampler, outH = first.outH, outW = first.outW
        precondition(levels.allSatisfy { $0.upsampler.outH == outH && $0.upsampler.outW == outW }, "levels resize to one size")
        let parts = outH > 1 ? 2 : 1
        var partPeaks = [Float](repeating: -.infinity, count: planes * parts)
        partPeaks.withUnsafeMutableBufferPointer { partPeaks in
            parallelFor(planes * parts, work: planes * outH * outW * levels.count) { items in
                for item in items {
                    let p = item / parts, part = item % parts
                    var peak = -Float.infinity
                    for oy in (outH * part / parts)..<(outH * (part + 1) / parts) {
                        let row = dst + (p * outH + oy) * outW
                        for (l, level) in levels.enumerated() {
                            let up = level.upsampler
                            up.row(oy, of: level.planes + p * up.inH * up.inW, into: row, multiplying: l > 0)
                        }
                        // A NaN anywhere makes the peak NaN: a map with NaN must never pass as a finite score.
                        for ox in 0..<outW where !(row[ox] <= peak) { peak = row[ox].isNaN || peak.isNaN ? .nan : row[ox] }
                    }
                    partPeaks[item] = peak
                }
            }
        }
        return (0..<planes).map { p in
            partPeaks[p * parts..<(p + 1) * parts].reduce(-Float.infinity) { $0.isNaN || $1.isNaN ? .nan : max($0, $1) }
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
