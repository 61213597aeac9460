/// L2 normalisation along channels, as torch.nn.functional.normalize(x, dim=1): y = x / max(|x|, eps).
/// The eps is a floor on the norm, not added to it.
public final class ChannelNormalize {
    public let eps: Float
    public let output = Tensor(c: 0, n: 0, h: 0, w: 0)
    public let inputGrad = Tensor(c: 0, n: 0, h: 0, w: 0)
    /// 1 / max(norm, eps) per position, and whether the floor was hit (the gradient then skips the
    /// projection term because the norm no longer depends on x).
    private var invNorm: [Float] = []
    private var floored: [Bool] = []
    private var dots: [Float] = []

    public init(eps: Float = 1e-12) { self.eps = eps }

    @discardableResult
    public func forward(_ x: Tensor) -> Tensor {
        output.resize(c: x.c, n: x.n, h: x.h, w: x.w)
        let m = x.rowLength
        if invNorm.count < m { invNorm = .init(repeating: 0, count: m); floored = .init(repeating: false, count: m) }
        invNorm.withUnsafeMutableBufferPointer { inv in
            inv.baseAddress!.update(repeating: 0, count: m)
            for c in 0..<x.c {
                let r = x.data + c * m
                for i in 0..<m { inv[i] += r[i] * r[i] }
            }
            for i in 0..<m {
                let norm = inv[i].squareRoot()
                floored[i] = norm <= eps
                inv[i] = 1 / max(norm, eps)
            }
            for c in 0..<x.c {
                let r = x.data + c * m, o = output.data + c * m
                for i in 0..<m { o[i] = r[i] * inv[i] }
            }
        }
        return output
    }

    /// dx = (dy - y * <dy, y>) / |x| per position.
    @discardableResult
    public func backward(_ dy: Tensor) -> Tensor {
        let y = output, m = y.rowLength
        inputGrad.resize(c: y.c, n: y.n, h: y.h, w: y.w)
        if dots.count < m { dots = .init(repeating: 0, count: m) }
        dots.withUnsafeMutableBufferPointer { dots in
        dots.baseAddress!.update(repeating: 0, count: m)
        for c in 0..<y.c {
            let yr = y.data + c * m, g = dy.data + c * m
            for i in 0..<m { dots[i] += yr[i] * g[i] }
        }
        for i in 0..<m where floored[i] { dots[i] = 0 }
        invNorm.withUnsafeBufferPointer { inv in
            for c in 0..<y.c {
                let yr = y.data + c * m, g = dy.data + c * m, d = inputGrad.data + c * m
                for i in 0..<m { d[i] = (g[i] - yr[i] * dots[i]) * inv[i] }
            }
        }
        }
        return inputGrad
    }
}
