/// Pointwise activations, applied in place. The backward pass needs only the activation's output:
/// ReLU passes gradient where y > 0, ReLU6 where 0 < y < 6 (torch's hardtanh convention at the edges).
public enum Activation: Sendable {
    case identity
    case relu
    case relu6

    public func forward(_ t: Tensor) {
        let p = t.data, n = t.count
        switch self {
        case .identity: break
        case .relu: for i in 0..<n { p[i] = max(p[i], 0) }
        case .relu6: for i in 0..<n { p[i] = min(max(p[i], 0), 6) }
        }
    }

    /// Masks `grad` in place by the derivative at output `y`.
    public func backward(output y: Tensor, grad: Tensor) {
        let yp = y.data, g = grad.data, n = y.count
        switch self {
        case .identity: break
        case .relu: for i in 0..<n { g[i] = yp[i] > 0 ? g[i] : 0 }
        case .relu6: for i in 0..<n { g[i] = (yp[i] > 0 && yp[i] < 6) ? g[i] : 0 }
        }
    }
}
