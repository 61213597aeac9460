import CKernels

/// y = activation(a + b): the join of a residual block. Its gradient goes unchanged (after the
/// activation's mask) to both branches.
public final class ResidualAdd {
    public let activation: Activation
    public let output = Tensor(c: 0, n: 0, h: 0, w: 0)

    public init(activation: Activation) { self.activation = activation }

    /// One side of a join: a tensor, or the input of a train-mode BatchNorm whose output nothing else
    /// reads, normalised here as it is read (`ConvUnit.forwardIntoJoin`): then no tensor holds that output.
    public struct Side {
        public let x: Tensor
        public let bn: BatchNorm2d?
        public init(_ x: Tensor, normalizedBy bn: BatchNorm2d? = nil) { self.x = x; self.bn = bn }
    }

    /// BatchNorm's y = x * scale + shift rounds as in `BatchNorm2d.forward`, so the output is that of
    /// a join of the normalised tensors bit for bit. A side may be `output` itself: each element is read
    /// before it is written. With `InstructionSet.avx512` a channel runs in batchnorm_avx512.c to the same floats:
    /// these loops, vectorised by the compiler at best to AVX2, took 3-4 % of a ResNet-50-1by2 training step.
    @discardableResult
    public func forward(_ a: Side, _ b: Side) -> Tensor {
        precondition(a.x.sameShape(b.x), "residual branches differ in shape")
        let x = a.x
        output.resize(c: x.c, n: x.n, h: x.h, w: x.w)
        let m = x.rowLength, o = output.data, act = activation
        parallelFor(x.c, work: x.count) { channels in
            for c in channels {
                let (sa, ta) = a.bn?.batchAffine(c) ?? (1, 0), (sb, tb) = b.bn?.batchAffine(c) ?? (1, 0)
                let pa = a.x.data + c * m, pb = b.x.data + c * m, po = o + c * m
                if InstructionSet.avx512 {
                    stpm_bn_join_avx512(pa, a.bn != nil ? 1 : 0, sa, ta, pb, b.bn != nil ? 1 : 0, sb, tb, po, m, act.kernelCode)
                    continue
                }
                switch (a.bn != nil, b.bn != nil) {
                case (true, true): for i in 0..<m { po[i] = act.of((pa[i] * sa + ta) + (pb[i] * sb + tb)) }
                case (true, false): for i in 0..<m { po[i] = act.of((pa[i] * sa + ta) + pb[i]) }
                case (false, true): for i in 0..<m { po[i] = act.of(pa[i] + (pb[i] * sb + tb)) }
                case (false, false): for i in 0..<m { po[i] = act.of(pa[i] + pb[i]) }
                }
            }
        }
        return output
    }

    /// Masks `dy` in place, or into `target`; both branches then read the masked gradient.
    public func backward(_ dy: Tensor, into target: Tensor? = nil) { activation.backward(output: output, grad: dy, into: target) }

    /// `dy` on its way through this join's mask into the tensor a branch's backward pass reads, masked there channel by
    /// channel just before the branch's BatchNorm reads each (`ConvUnit.backward`'s `masking`), which then finds it in
    /// cache: masked whole first, the gradient was written to memory and read back.
    public struct PendingMask {
        public let join: ResidualAdd
        public let dy: Tensor

        /// Channel `c` of `dy` masked into `target` (shaped as `dy`; it may be `dy`).
        func apply(channel c: Int, into target: Tensor) {
            let m = dy.rowLength
            join.activation.backward(output: join.output, grad: dy, into: target, elements: c * m..<(c + 1) * m)
        }
    }

    public func pendingMask(_ dy: Tensor) -> PendingMask { PendingMask(join: self, dy: dy) }
}

/// dst += src, for summing the gradients of two branches that read the same tensor.
public func addInPlace(_ dst: Tensor, _ src: Tensor) {
    precondition(dst.sameShape(src), "gradient shapes differ")
    let d = dst.data, s = src.data
    parallelFor(dst.count, work: dst.count) { r in for i in r { d[i] += s[i] } }
}
