/// Depthwise convolution kernels (one kxk filter per channel), forward and backward.
///
/// Each (channel, image) plane is first laid out zero-padded and, for stride s, split into s x s
/// phase planes (rows and columns taken every s-th). Every filter tap then becomes one long
/// contiguous multiply-add over the whole plane, computed on "wide" rows as wide as the phase plane
/// (the extra columns are discarded), so the inner loops vectorise with no per-row remainders and
/// no branches, for stride 1 and stride 2 alike.

/// Sizes of the phase planes and wide output of one plane.
struct DepthwisePlan {
    let g: ConvGeometry
    let hq: Int, wq: Int
    let phasePlane: Int
    let slack: Int
    var phases: Int { g.stride * g.stride }
    var phaseBuffer: Int { phases * phasePlane }
    var wide: Int { g.oh * wq }

    init(_ g: ConvGeometry) {
        self.g = g
        let s = g.stride
        hq = (g.h + g.pad.top + g.pad.bottom + s - 1) / s
        wq = (g.w + g.pad.left + g.pad.right + s - 1) / s
        // A tap's wide read may run up to k columns past its plane's last row.
        slack = g.kw
        phasePlane = hq * wq + slack
    }

    /// Where tap (ky, kx) reads: its phase plane and the offset within it.
    @inline(__always) func tapOffset(_ ky: Int, _ kx: Int) -> Int {
        let s = g.stride
        return ((ky % s) * s + kx % s) * phasePlane + (ky / s) * wq + kx / s
    }

    /// Splits one zero-padded input plane into its phase planes.
    func scatter(_ src: UnsafePointer<Float>, _ q: UnsafeMutablePointer<Float>) {
        q.update(repeating: 0, count: phaseBuffer)
        let s = g.stride
        for r in 0..<g.h {
            let pr = r + g.pad.top, row = src + r * g.w
            if s == 1 {
                (q + pr * wq + g.pad.left).update(from: row, count: g.w)
                continue
            }
            for px in 0..<s {
                let first = (px - g.pad.left % s + s) % s  // first input column landing in phase column px
                let dst = q + ((pr % s) * s + px) * phasePlane + (pr / s) * wq
                var c = first
                while c < g.w { dst[(c + g.pad.left) / s] = row[c]; c += s }
            }
        }
    }

    /// Adds phase-plane gradients back onto the input plane positions they came from.
    func gather(_ dq: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>) {
        let s = g.stride
        for r in 0..<g.h {
            let pr = r + g.pad.top, row = dst + r * g.w
            let base = dq + (pr % s) * s * phasePlane + (pr / s) * wq
            for c in 0..<g.w {
                let pc = c + g.pad.left
                row[c] = base[(pc % s) * phasePlane + pc / s]
            }
        }
    }
}

func depthwiseForward(_ x: UnsafePointer<Float>, _ g: ConvGeometry, _ weight: UnsafePointer<Float>,
                      _ y: UnsafeMutablePointer<Float>) {
    let plan = DepthwisePlan(g)
    let k = g.kh, oh = g.oh, ow = g.ow, wq = plan.wq, span = plan.wide
    let inPlane = g.h * g.w, outPlane = oh * ow
    parallelFor(g.c, work: g.c * g.n * outPlane * k * k) { channels in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: plan.phaseBuffer + span) { buf in
            let q = buf.baseAddress!, acc = q + plan.phaseBuffer
            for ci in channels {
                let wc = weight + ci * k * k
                for ni in 0..<g.n {
                    plan.scatter(x + (ci * g.n + ni) * inPlane, q)
                    acc.update(repeating: 0, count: span)
                    for ky in 0..<k {
                        for kx in 0..<k {
                            let wv = wc[ky * k + kx], src = q + plan.tapOffset(ky, kx)
                            for i in 0..<span { acc[i] = acc[i].addingProduct(wv, src[i]) }
                        }
                    }
                    let dst = y + (ci * g.n + ni) * outPlane
                    for oy in 0..<oh { (dst + oy * ow).update(from: acc + oy * wq, count: ow) }
                }
            }
        }
    }
}

func depthwiseBackward(_ x: UnsafePointer<Float>, _ g: ConvGeometry, _ weight: UnsafePointer<Float>,
                       _ dy: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>,
                       _ dx: UnsafeMutablePointer<Float>?) {
    let plan = DepthwisePlan(g)
    let k = g.kh, oh = g.oh, ow = g.ow, wq = plan.wq, span = plan.wide
    let inPlane = g.h * g.w, outPlane = oh * ow
    parallelFor(g.c, work: g.c * g.n * outPlane * k * k) { channels in
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * plan.phaseBuffer + span) { buf in
            let q = buf.baseAddress!, dq = q + plan.phaseBuffer, gradWide = dq + plan.phaseBuffer
            for ci in channels {
                let wc = weight + ci * k * k
                var sums = [Double](repeating: 0, count: k * k)
                for ni in 0..<g.n {
                    plan.scatter(x + (ci * g.n + ni) * inPlane, q)
                    // Wide gradient rows with zeros in the discarded columns, so they add nothing.
                    gradWide.update(repeating: 0, count: span)
                    let grad = dy + (ci * g.n + ni) * outPlane
                    for oy in 0..<oh { (gradWide + oy * wq).update(from: grad + oy * ow, count: ow) }
                    if dx != nil { dq.update(repeating: 0, count: plan.phaseBuffer) }
                    for ky in 0..<k {
                        for kx in 0..<k {
                            let off = plan.tapOffset(ky, kx), src = q + off
                            var dot: Float = 0
                            for i in 0..<span { dot = dot.addingProduct(gradWide[i], src[i]) }
                            sums[ky * k + kx] += Double(dot)
                            guard dx != nil else { continue }
                            let wv = wc[ky * k + kx], dsrc = dq + off
                            for i in 0..<span { dsrc[i] = dsrc[i].addingProduct(wv, gradWide[i]) }
                        }
                    }
                    if let dx { plan.gather(dq, dx + (ci * g.n + ni) * inPlane) }
                }
                for t in 0..<(k * k) { dw[ci * k * k + t] = Float(sums[t]) }
            }
        }
    }
}
