/// y = activation(a + b): the join of a residual block. Its gradient goes unchanged (after the
/// activation's mask) to both branches.
public final class ResidualAdd {
    public let activation: Activation
    public let output = Tensor(c: 0, n: 0, h: 0, w: 0)

    public init(activation: Activation) { self.activation = activation }

    @discardableResult
    public func forward(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.sameShape(b), "residual branches differ in shape")
        output.resize(c: a.c, n: a.n, h: a.h, w: a.w)
        let x = a.data, y = b.data, o = output.data, act = activation
        switch act {
        case .identity: parallelFor(a.count, work: a.count) { r in for i in r { o[i] = x[i] + y[i] } }
        case .relu: parallelFor(a.count, work: a.count) { r in for i in r { o[i] = max(x[i] + y[i], 0) } }
        case .relu6: parallelFor(a.count, work: a.count) { r in for i in r { o[i] = min(max(x[i] + y[i], 0), 6) } }
        }
        return output
    }

    /// Masks `dy` in place; both branches then read it.
    public func backward(_ dy: Tensor) { activation.backward(output: output, grad: dy) }
}

/// dst += src, for summing the gradients of two branches that read the same tensor.
public func addInPlace(_ dst: Tensor, _ src: Tensor) {
    precondition(dst.sameShape(src), "gradient shapes differ")
    let d = dst.data, s = src.data
    parallelFor(dst.count, work: dst.count) { r in for i in r { d[i] += s[i] } }
}
