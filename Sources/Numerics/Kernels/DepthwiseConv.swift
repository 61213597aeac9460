import CKernels

/// Depthwise convolution kernels (one kxk filter per channel), forward and backward. Both run in CKernels
/// (depthwise_avx512.c) where `InstructionSet.avx512` allows, else as below.
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

    /// Splits one zero-padded input plane into its phase planes. Every plane fills the same positions,
    /// so the padding and slack of `q` stay zero from `clear` on: plane after plane only copies.
    func scatter(_ src: UnsafePointer<Float>, _ q: UnsafeMutablePointer<Float>) {
        let s = g.stride
        for r in 0..<g.h {
            let pr = r + g.pad.top, row = src + r * g.w
            if s == 1 {
                (q + pr * wq + g.pad.left).update(from: row, count: g.w)
                continue
            }
            for px in 0..<s {
                let first = (px - g.pad.left % s + s) % s  // first input column landing in phase column px
                let dst = q + ((pr % s) * s + px) * phasePlane + (pr / s) * wq + (first + g.pad.left) / s
                // Consecutive phase columns: no division per element (it cost more than the convolution).
                for j in 0..<((g.w - first + s - 1) / s) { dst[j] = row[first + j * s] }
            }
        }
    }

    func clear(_ q: UnsafeMutablePointer<Float>) { q.update(repeating: 0, count: phaseBuffer) }

    /// Adds phase-plane gradients back onto the input plane positions they came from.
    func gather(_ dq: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>) {
        let s = g.stride
        for r in 0..<g.h {
            let pr = r + g.pad.top, row = dst + r * g.w
            if s == 1 {
                row.update(from: dq + pr * wq + g.pad.left, count: g.w)
                continue
            }
            for px in 0..<s {
                let first = (px - g.pad.left % s + s) % s
                let src = dq + ((pr % s) * s + px) * phasePlane + (pr / s) * wq + (first + g.pad.left) / s
                for j in 0..<((g.w - first + s - 1) / s) { row[first + j * s] = src[j] }
            }
        }
    }

    /// Offset of tap (ky, kx) inside its phase plane.
    @inline(__always) func inPlaneOffset(_ ky: Int, _ kx: Int) -> Int { (ky / g.stride) * wq + kx / g.stride }
}

/// out[i] = sum over taps t of w[t] * src[offset[t] + i], for i in 0..<count. A block of 32 outputs
/// is accumulated in registers across all taps before one store: a tap's broadcast weight serves
/// four vector loads and FMAs.
@inline(__always)
func tapSum(_ out: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ offsets: UnsafePointer<Int>,
            _ weights: UnsafePointer<Float>, taps: Int, count: Int) {
    var i = 0
    while i + 32 <= count {
        var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
        for t in 0..<taps {
            let w = SIMD8(repeating: weights[t]), p = src + offsets[t] + i
            a0 = a0.addingProduct(w, load8(p))
            a1 = a1.addingProduct(w, load8(p + 8))
            a2 = a2.addingProduct(w, load8(p + 16))
            a3 = a3.addingProduct(w, load8(p + 24))
        }
        let o = UnsafeMutableRawPointer(out + i)
        o.storeBytes(of: a0, as: SIMD8<Float>.self)
        o.storeBytes(of: a1, toByteOffset: 32, as: SIMD8<Float>.self)
        o.storeBytes(of: a2, toByteOffset: 64, as: SIMD8<Float>.self)
        o.storeBytes(of: a3, toByteOffset: 96, as: SIMD8<Float>.self)
        i += 32
    }
    while i + 8 <= count {
        var a = SIMD8<Float>()
        for t in 0..<taps {
            let v = UnsafeRawPointer(src + offsets[t] + i).loadUnaligned(as: SIMD8<Float>.self)
            a = a.addingProduct(SIMD8(repeating: weights[t]), v)
        }
        UnsafeMutableRawPointer(out + i).storeBytes(of: a, as: SIMD8<Float>.self)
        i += 8
    }
    while i < count {
        var a: Float = 0
        for t in 0..<taps { a = a.addingProduct(weights[t], src[offsets[t] + i]) }
        out[i] = a
        i += 1
    }
}

/// The plane shape the AVX-512 kernels take, when they cover `g` (stride 1 or 2, square kernels up to 7).
private func avx512Shape(_ g: ConvGeometry) -> stpm_depthwise_shape? {
    guard InstructionSet.avx512, g.stride <= 2, g.kh == g.kw, g.kh <= 7 else { return nil }
    return stpm_depthwise_shape(h: Int32(g.h), w: Int32(g.w), k: Int32(g.kh), stride: Int32(g.stride),
                                pad_top: Int32(g.pad.top), pad_left: Int32(g.pad.left), oh: Int32(g.oh), ow: Int32(g.ow))
}

/// The output of a train-mode BatchNorm and its activation, activation(x * scale + shift) per channel, as the
/// depthwise convolution after them reads it (`Conv2d.forward(normalized:_:)`): no tensor holds it.
public struct NormalizedTensor {
    public let x: Tensor
    public let bn: BatchNorm2d
    public let activation: Activation

    public init(_ x: Tensor, _ bn: BatchNorm2d, _ activation: Activation) { self.x = x; self.bn = bn; self.activation = activation }

    func map(_ c: Int) -> stpm_depthwise_map {
        let (scale, shift) = bn.batchAffine(c)
        return stpm_depthwise_map(scale: scale, shift: shift, act: activation.kernelCode)
    }

    /// Plane `p` (of `count` floats) of channel `c` as it reads, into `out` (the portable kernels' copy).
    func plane(_ p: Int, channel c: Int, _ count: Int, into out: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        let (scale, shift) = bn.batchAffine(c)
        activation.apply(x.data + p * count, out, count, scale: scale, shift: shift)
        return UnsafePointer(out)
    }
}

/// dL/dy of a depthwise convolution read as dL/dz of the train-mode BatchNorm after it, z its input (the
/// convolution's output), once `BatchNorm2d.gradientSums` has run: BatchNorm's backward pass without the
/// tensor it would write.
struct BatchNormGradient {
    let z: Tensor
    let bn: BatchNorm2d
    let activation: Activation

    /// The terms of channel `c`, reading z's plane `p`.
    func terms(_ c: Int, plane p: Int) -> stpm_depthwise_norm_gradient {
        let (scale, shift) = bn.batchAffine(c), t = bn.inputGradient(c)
        return stpm_depthwise_norm_gradient(z: z.data + p * z.plane, scale: scale, shift: shift, act: activation.kernelCode,
                                            mean: t.mean, inv: t.inv, k: t.k, a: t.a, b: t.b)
    }

    /// Plane `p` of channel `c` of dL/dz from dy's, into `out` (the portable kernels' copy).
    func plane(_ dy: UnsafePointer<Float>, _ p: Int, channel c: Int, into out: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        let (scale, shift) = bn.batchAffine(c), t = bn.inputGradient(c), n = z.plane
        activation.normGradient(dy + p * n, z.data + p * n, out, n, scale: scale, shift: shift, mean: t.mean, inv: t.inv,
                                k: t.k, a: t.a, b: t.b)
        return UnsafePointer(out)
    }
}

/// The convolution plus its bias and activation, applied as the wide rows are copied out; x read through
/// `normalized` where given (x is then its tensor's data). Around each channel c, on the thread that convolves
/// it, `starting(c)` runs before it is read and `finished(c)` once its output is written.
func depthwiseForward(_ x: UnsafePointer<Float>, _ g: ConvGeometry, _ weight: UnsafePointer<Float>,
                      _ bias: UnsafePointer<Float>?, _ activation: Activation,
                      _ y: UnsafeMutablePointer<Float>, _ ws: Workspace, normalized: NormalizedTensor? = nil,
                      starting: ((Int) -> Void)? = nil, finished: ((Int) -> Void)? = nil) {
    let inPlane = g.h * g.w, outPlane = g.oh * g.ow, taps = g.kh * g.kw
    if let shape = avx512Shape(g) {
        let scratch = ws.threadScratch(stpm_depthwise_scratch(shape))
        parallelChunks(g.c, work: g.c * g.n * outPlane * taps) { chunk, channels in
            for ci in channels {
                starting?(ci)
                var map = normalized?.map(ci) ?? stpm_depthwise_map()
                for ni in 0..<g.n {
                    let p = ci * g.n + ni
                    if normalized != nil {
                        stpm_depthwise_forward_mapped_avx512(x + p * inPlane, &map, weight + ci * taps, bias?[ci] ?? 0,
                                                             activation.kernelCode, y + p * outPlane, scratch[chunk], shape)
                    } else {
                        stpm_depthwise_forward_avx512(x + p * inPlane, weight + ci * taps, bias?[ci] ?? 0, activation.kernelCode,
                                                      y + p * outPlane, scratch[chunk], shape)
                    }
                }
                finished?(ci)
            }
        }
        return
    }
    let plan = DepthwisePlan(g)
    let k = g.kh, oh = g.oh, ow = g.ow, wq = plan.wq, span = plan.wide
    let offsets = (0..<(k * k)).map { plan.tapOffset($0 / k, $0 % k) }
    let scratch = ws.threadScratch(plan.phaseBuffer + span + (normalized == nil ? 0 : inPlane))
    parallelChunks(g.c, work: g.c * g.n * outPlane * k * k) { chunk, channels in
        do {
            let q = scratch[chunk], acc = q + plan.phaseBuffer, read = acc + span
            plan.clear(q)
            offsets.withUnsafeBufferPointer { off in
                for ci in channels {
                    starting?(ci)
                    for ni in 0..<g.n {
                        let p = ci * g.n + ni
                        plan.scatter(normalized?.plane(p, channel: ci, inPlane, into: read) ?? x + p * inPlane, q)
                        tapSum(acc, q, off.baseAddress!, weight + ci * k * k, taps: k * k, count: span)
                        let dst = y + (ci * g.n + ni) * outPlane, b = bias?[ci] ?? 0
                        for oy in 0..<oh { activation.apply(acc + oy * wq, dst + oy * ow, ow, bias: b) }
                    }
                    finished?(ci)
                }
            }
        }
    }
}

/// dL/dw (written) and, with `dx`, dL/dx (written). The weight gradient sums each plane's products in Float
/// and the planes of a channel in Double. x is read through `normalized` and dy through `gradient` where given.
/// Around each channel c, on the thread that computes it, `starting(c)` runs before it is read and `finished(c)`
/// once its gradients are written.
func depthwiseBackward(_ x: UnsafePointer<Float>, _ g: ConvGeometry, _ weight: UnsafePointer<Float>,
                       _ dy: UnsafePointer<Float>, _ dw: UnsafeMutablePointer<Float>,
                       _ dx: UnsafeMutablePointer<Float>?, _ ws: Workspace, normalized: NormalizedTensor? = nil,
                       gradient: BatchNormGradient? = nil, starting: ((Int) -> Void)? = nil, finished: ((Int) -> Void)? = nil) {
    let inPlane = g.h * g.w, outPlane = g.oh * g.ow, taps = g.kh * g.kw
    if let shape = avx512Shape(g) {
        let scratch = ws.threadScratch(stpm_depthwise_backward_scratch(shape) + taps)
        parallelChunks(g.c, work: g.c * g.n * outPlane * taps) { chunk, channels in
            let planeSums = scratch[chunk] + stpm_depthwise_backward_scratch(shape)
            withUnsafeTemporaryAllocation(of: Double.self, capacity: taps) { sums in
                for ci in channels {
                    starting?(ci)
                    sums.initialize(repeating: 0)
                    var map = normalized?.map(ci) ?? stpm_depthwise_map()
                    for ni in 0..<g.n {
                        let p = ci * g.n + ni
                        var terms = gradient?.terms(ci, plane: p) ?? stpm_depthwise_norm_gradient()
                        withUnsafePointer(to: &map) { mp in
                            withUnsafePointer(to: &terms) { tp in
                                stpm_depthwise_backward_mapped_avx512(x + p * inPlane, normalized == nil ? nil : mp, weight + ci * taps,
                                                                      dy + p * outPlane, gradient == nil ? nil : tp, planeSums,
                                                                      dx.map { $0 + p * inPlane }, scratch[chunk], shape)
                            }
                        }
                        for t in 0..<taps { sums[t] += Double(planeSums[t]) }
                    }
                    for t in 0..<taps { dw[ci * taps + t] = Float(sums[t]) }
                    finished?(ci)
                }
            }
        }
        return
    }
    let plan = DepthwisePlan(g)
    let k = g.kh, oh = g.oh, ow = g.ow, wq = plan.wq, span = plan.wide, s = g.stride
    let offsets = (0..<(k * k)).map { plan.tapOffset($0 / k, $0 % k) }
    // The input gradient of a phase plane is a correlation of the output gradient with the taps of
    // that phase at negated offsets; the gradient is zero-padded in front so they stay in bounds.
    let lead = plan.inPlaneOffset(k - 1, k - 1)
    let phaseTaps = (0..<plan.phases).map { p in (0..<(k * k)).filter { t in ((t / k) % s) * s + (t % k) % s == p } }
    let phaseOffsets = phaseTaps.map { $0.map { -plan.inPlaneOffset($0 / k, $0 % k) } }
    let gradLength = lead + plan.phasePlane
    let scratch = ws.threadScratch(2 * plan.phaseBuffer + gradLength + k * k + inPlane + outPlane)
    parallelChunks(g.c, work: g.c * g.n * outPlane * k * k) { chunk, channels in
        do {
            let q = scratch[chunk], dq = q + plan.phaseBuffer, padded = dq + plan.phaseBuffer
            let tapWeights = padded + gradLength, read = tapWeights + k * k, readGradient = read + inPlane
            let gradWide = padded + lead
            padded.update(repeating: 0, count: gradLength)
            plan.clear(q)
            var sums = [Double](repeating: 0, count: k * k)
            for ci in channels {
                starting?(ci)
                let wc = weight + ci * k * k
                for t in sums.indices { sums[t] = 0 }
                for ni in 0..<g.n {
                    let p = ci * g.n + ni
                    plan.scatter(normalized?.plane(p, channel: ci, inPlane, into: read) ?? x + p * inPlane, q)
                    // Wide gradient rows keep zeros in the discarded columns, so those add nothing.
                    let grad = gradient?.plane(dy, p, channel: ci, into: readGradient) ?? dy + p * outPlane
                    for oy in 0..<oh { (gradWide + oy * wq).update(from: grad + oy * ow, count: ow) }
                    for t in 0..<(k * k) { sums[t] += Double(dotProduct(gradWide, q + offsets[t], span)) }
                    guard let dx else { continue }
                    for p in 0..<plan.phases {
                        let taps = phaseTaps[p]
                        for (j, t) in taps.enumerated() { tapWeights[j] = wc[t] }
                        phaseOffsets[p].withUnsafeBufferPointer { off in
                            tapSum(dq + p * plan.phasePlane, gradWide, off.baseAddress!, tapWeights,
                                   taps: taps.count, count: plan.hq * wq)
                        }
                    }
                    plan.gather(dq, dx + (ci * g.n + ni) * inPlane)
                }
                for t in 0..<(k * k) { dw[ci * k * k + t] = Float(sums[t]) }
                finished?(ci)
            }
        }
    }
}
