/// L2 normalisation along channels, as torch.nn.functional.normalize(x, dim=1): y = x / max(|x|, eps).
/// The eps is a floor on the norm, not added to it.
///
/// Positions are independent, so both passes split them across cores; each position's sum over
/// channels runs in channel order whatever the split, so results do not depend on the thread count.
public final class ChannelNormalize {
    public let eps: Float
    public let output = Tensor(c: 0, n: 0, h: 0, w: 0)
    public let inputGrad = Tensor(c: 0, n: 0, h: 0, w: 0)
    /// 1 / max(norm, eps) per position, or minus that where the floor was hit (the gradient then skips
    /// the projection term because the norm no longer depends on x); and <dy, y> per position.
    private let invNorm = Tensor(c: 0, n: 0, h: 0, w: 0)
    private let dots = Tensor(c: 0, n: 0, h: 0, w: 0)

    public init(eps: Float = 1e-12) { self.eps = eps }

    @discardableResult
    public func forward(_ x: Tensor) -> Tensor {
        output.resize(c: x.c, n: x.n, h: x.h, w: x.w)
        let m = x.rowLength, channels = x.c, eps = eps
        invNorm.resize(c: 1, n: 1, h: 1, w: m)
        let inv = invNorm.data, out = output.data, src = x.data
        parallelFor(m, work: x.count) { r in
            let n = r.count, from = r.lowerBound
            (inv + from).update(repeating: 0, count: n)
            for c in 0..<channels {
                let row = src + c * m + from, acc = inv + from
                for i in 0..<n { acc[i] += row[i] * row[i] }
            }
            for i in r {
                let norm = inv[i].squareRoot()
                inv[i] = norm <= eps ? -1 / eps : 1 / max(norm, eps)
            }
            for c in 0..<channels {
                let row = src + c * m, o = out + c * m
                for i in r { o[i] = row[i] * abs(inv[i]) }
            }
        }
        return output
    }

    /// dx = (dy - y * <dy, y>) / |x| per position, into `inputGrad` or into `into`, which may be `dy`.
    @discardableResult
    public func backward(_ dy: Tensor, into target: Tensor? = nil) -> Tensor {
        let y = output, m = y.rowLength, channels = y.c
        let inputGrad = target ?? self.inputGrad
        inputGrad.resize(c: y.c, n: y.n, h: y.h, w: y.w)
        dots.resize(c: 1, n: 1, h: 1, w: m)
        let inv = invNorm.data, dot = dots.data, yp = y.data, gp = dy.data, dp = inputGrad.data
        parallelFor(m, work: y.count) { r in
            let n = r.count, from = r.lowerBound
            (dot + from).update(repeating: 0, count: n)
            for c in 0..<channels {
                let yr = yp + c * m + from, g = gp + c * m + from, acc = dot + from
                for i in 0..<n { acc[i] += yr[i] * g[i] }
            }
            for i in r where inv[i] < 0 { dot[i] = 0 }
            for c in 0..<channels {
                let yr = yp + c * m, g = gp + c * m, d = dp + c * m
                for i in r { d[i] = (g[i] - yr[i] * dot[i]) * abs(inv[i]) }
            }
        }
        return inputGrad
    }
}
