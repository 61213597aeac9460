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
            for oy in 0..<outH {
                let r0 = s + ys.i0[oy] * inW, r1 = s + ys.i1[oy] * inW, ly = ys.lambda[oy]
                let row = d + oy * outW
                for ox in 0..<outW {
                    let a = xs.i0[ox], b = xs.i1[ox], lx = xs.lambda[ox]
                    let top = r0[a] * (1 - lx) + r0[b] * lx
                    let bottom = r1[a] * (1 - lx) + r1[b] * lx
                    row[ox] = top * (1 - ly) + bottom * ly
                }
            }
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
