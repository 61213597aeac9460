import CKernels

/// Pointwise activations, applied in place. The backward pass needs only the activation's output:
/// ReLU passes gradient where y > 0, ReLU6 where 0 < y < 6 (torch's hardtanh convention at the edges).
public enum Activation: Sendable {
    case identity
    case relu
    case relu6

    public func forward(_ t: Tensor) {
        let p = t.data
        switch self {
        case .identity: break
        case .relu: parallelFor(t.count, work: t.count) { r in for i in r { p[i] = max(p[i], 0) } }
        case .relu6: parallelFor(t.count, work: t.count) { r in for i in r { p[i] = min(max(p[i], 0), 6) } }
        }
    }

    /// dst[i] = activation(src[i] + bias) for i in 0..<count: a layer's epilogue in one pass over its
    /// output (src may be dst).
    @inline(__always)
    func apply(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ count: Int, bias: Float) {
        switch self {
        case .identity: for i in 0..<count { dst[i] = src[i] + bias }
        case .relu: for i in 0..<count { dst[i] = max(src[i] + bias, 0) }
        case .relu6: for i in 0..<count { dst[i] = min(max(src[i] + bias, 0), 6) }
        }
    }

    /// The activation of one value.
    @inline(__always)
    func of(_ v: Float) -> Float {
        switch self {
        case .identity: return v
        case .relu: return max(v, 0)
        case .relu6: return min(max(v, 0), 6)
        }
    }

    /// Masks `grad` by the derivative at output `y`, in place or into `target` (resized). Explicit vectors
    /// of eight: the compiler leaves a loop scalar when the tensors it writes and reads may alias.
    public func backward(output y: Tensor, grad: Tensor, into target: Tensor? = nil) {
        let out = target ?? grad
        out.resize(c: grad.c, n: grad.n, h: grad.h, w: grad.w)
        guard self != .identity || out !== grad else { return }
        let n = y.count
        parallelFor(n, work: n) { r in backward(output: y, grad: grad, into: out, elements: r) }
    }

    /// `backward` of elements `r` alone, into `out` (already resized; it may be `grad`): for a pass that reads them next
    /// (`ResidualAdd.PendingMask`).
    @inline(__always)
    func backward(output y: Tensor, grad: Tensor, into out: Tensor, elements r: Range<Int>) {
        let yp = UnsafePointer(y.data), g = UnsafePointer(grad.data), o = out.data
        var i = r.lowerBound
        while i + 8 <= r.upperBound {
            UnsafeMutableRawPointer(o + i).storeBytes(of: masked(load8(g + i), load8(yp + i), 1, 0), as: SIMD8<Float>.self)
            i += 8
        }
        while i < r.upperBound {
            o[i] = masked(g[i], yp[i], 1, 0)
            i += 1
        }
    }
}

/// BatchNorm's per-channel passes with the activation folded in (BatchNorm2d.swift): the forward
/// applies it to y = x * scale + shift, the backward masks dy by its derivative at that same y,
/// recomputed from x with the same two roundings, so the mask is the forward's bit for bit. Where
/// `InstructionSet.avx512` allows, the passes over a row run in AVX-512 to the same floats (batchnorm_avx512.c).
extension Activation {
    /// dst[i] = activation(src[i] * scale + shift); src may be dst.
    @inline(__always)
    func apply(_ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, _ count: Int, scale: Float, shift: Float) {
        if InstructionSet.avx512 { return stpm_bn_apply_avx512(src, dst, count, scale, shift, kernelCode) }
        switch self {
        case .identity: for i in 0..<count { dst[i] = src[i] * scale + shift }
        case .relu: for i in 0..<count { dst[i] = max(src[i] * scale + shift, 0) }
        case .relu6: for i in 0..<count { dst[i] = min(max(src[i] * scale + shift, 0), 6) }
        }
    }

    /// g where the derivative at y = x * scale + shift is 1, else 0.
    @inline(__always)
    private func masked(_ g: SIMD8<Float>, _ x: SIMD8<Float>, _ scale: Float, _ shift: Float) -> SIMD8<Float> {
        switch self {
        case .identity: return g
        case .relu:
            let y = x * scale + shift
            return g.replacing(with: 0, where: .!(y .> 0))
        case .relu6:
            let y = x * scale + shift
            return g.replacing(with: 0, where: .!((y .> 0) .& (y .< 6)))
        }
    }

    @inline(__always)
    private func masked(_ g: Float, _ x: Float, _ scale: Float, _ shift: Float) -> Float {
        switch self {
        case .identity: return g
        case .relu: return x * scale + shift > 0 ? g : 0
        case .relu6:
            let y = x * scale + shift
            return y > 0 && y < 6 ? g : 0
        }
    }

    /// (sum of g', sum of g' * x) over a row, g' the masked gradient: Float vector sums over chunks of
    /// 1024, combined in Double (as Reductions.swift).
    @inline(__always)
    func maskedSums(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ count: Int,
                    scale: Float, shift: Float) -> (Double, Double) {
        if InstructionSet.avx512 {
            var sums = (0.0, 0.0)
            stpm_bn_masked_sums_avx512(g, x, count, scale, shift, kernelCode, &sums.0, &sums.1)
            return sums
        }
        var sumG = 0.0, sumGX = 0.0, start = 0
        while start < count {
            let end = min(start + 1024, count)
            var g0 = SIMD8<Float>(), g1 = SIMD8<Float>(), d0 = SIMD8<Float>(), d1 = SIMD8<Float>()
            var i = start
            while i + 16 <= end {
                let xa = load8(x + i), xb = load8(x + i + 8)
                let ga = masked(load8(g + i), xa, scale, shift), gb = masked(load8(g + i + 8), xb, scale, shift)
                g0 += ga; g1 += gb
                d0 += ga * xa; d1 += gb * xb
                i += 16
            }
            var sg = (g0 + g1).sum(), sd = (d0 + d1).sum()
            while i < end {
                let gi = masked(g[i], x[i], scale, shift)
                sg += gi; sd += gi * x[i]
                i += 1
            }
            sumG += Double(sg); sumGX += Double(sd)
            start = end
        }
        return (sumG, sumGX)
    }

    /// dx[i] = k * (g'[i] - a - xhat[i] * b), xhat = (x - mean) * inv: BatchNorm's input gradient. dx may be g.
    @inline(__always)
    func normGradient(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ count: Int,
                      scale: Float, shift: Float, mean: Float, inv: Float, k: Float, a: Float, b: Float) {
        if InstructionSet.avx512 { return stpm_bn_norm_gradient_avx512(g, x, dx, count, scale, shift, kernelCode, mean, inv, k, a, b) }
        var i = 0
        while i + 8 <= count {
            let xv = load8(x + i)
            let xhat = (xv - mean) * inv
            let d = k * (masked(load8(g + i), xv, scale, shift) - a - xhat * b)
            UnsafeMutableRawPointer(dx + i).storeBytes(of: d, as: SIMD8<Float>.self)
            i += 8
        }
        while i < count {
            let xhat = (x[i] - mean) * inv
            dx[i] = k * (masked(g[i], x[i], scale, shift) - a - xhat * b)
            i += 1
        }
    }
}
