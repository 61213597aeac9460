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

    /// Masks `grad` in place by the derivative at output `y`.
    public func backward(output y: Tensor, grad: Tensor) {
        let yp = y.data, g = grad.data, n = y.count
        switch self {
        case .identity: break
        case .relu: parallelFor(n, work: n) { r in for i in r { g[i] = yp[i] > 0 ? g[i] : 0 } }
        // One comparison instead of two keeps the loop branch-free and vectorised.
        case .relu6: parallelFor(n, work: n) { r in for i in r { g[i] = min(yp[i], 6 - yp[i]) > 0 ? g[i] : 0 } }
        }
    }
}
