/// L2 normalisation along channels, as torch.nn.functional.normalize(x, dim=1): y = x / max(|x|, eps).
/// The eps is a floor on the norm, not added to it.
///
/// Positions are independent, so both passes split them across cores; each position's sum over
/// channels runs in channel order whatever the split, so results do not depend on the thread count.
public final class ChannelNormalize {
    public let eps: Float
    public let output = Tensor(c: 0, n: 0, h: 0, w: 0)
    /// 1 / max(norm, eps) per position, or minus that where the floor was hit (a gradient then skips
    /// the projection term because the norm no longer depends on x).
    private let invNorm = Tensor(c: 0, n: 0, h: 0, w: 0)

    public init(eps: Float = 1e-12) { self.eps = eps }

    @discardableResult
    public func forward(_ x: Tensor) -> Tensor {
        output.resize(c: x.c, n: x.n, h: x.h, w: x.w)
        let m = x.rowLength, channels = x.c, out = output.data, src = UnsafePointer(x.data)
        invNorm.resize(c: 1, n: 1, h: 1, w: m)
        let inv = invNorm.data
        parallelFor(m, work: x.count) { r in
            norms(src, m, channels, r, inv)
            for c in 0..<channels {
                let row = src + c * m, o = out + c * m
                for i in r { o[i] = Self.normalized(row[i], inv[i]) }
            }
        }
        return output
    }

    /// Only the per-position norms of `x` (`inverseNorms`), for a caller that forms the normalised values
    /// as it reads them (`normalized`) instead of keeping a tensor of them: the training loss.
    public func norms(_ x: Tensor) {
        let m = x.rowLength, channels = x.c, src = UnsafePointer(x.data)
        invNorm.resize(c: 1, n: 1, h: 1, w: m)
        let inv = invNorm.data
        parallelFor(m, work: x.count) { r in norms(src, m, channels, r, inv) }
    }

    /// `inverseNorms` of positions `r` of a tensor with `channels` rows of `m`.
    @inline(__always)
    private func norms(_ src: UnsafePointer<Float>, _ m: Int, _ channels: Int, _ r: Range<Int>, _ inv: UnsafeMutablePointer<Float>) {
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
    }

    /// Per position of the last `forward` or `norms`, 1 / max(norm, eps), negative where the floor was hit
    /// (one row of `rowLength` values).
    public var inverseNorms: Tensor { invNorm }

    /// Element `x` of a position whose entry in `inverseNorms` is `inv`, normalised: the value `forward` writes.
    @inline(__always)
    public static func normalized(_ x: Float, _ inv: Float) -> Float { x * abs(inv) }
}
