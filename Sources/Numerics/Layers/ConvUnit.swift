/// Convolution, then BatchNorm (trainable students) or a folded bias (frozen teachers), then an
/// activation: the unit all three backbones are built from.
public final class ConvUnit: Layer {
    public let conv: Conv2d
    public let bn: BatchNorm2d?
    public let activation: Activation
    /// The BatchNorm's tensor-name prefix in checkpoints, also for a frozen unit that folds it.
    public let bnName: String
    public let bnEps: Float

    /// - Parameters:
    ///   - name: the convolution's tensor-name prefix (e.g. `layer1.0.conv1`).
    ///   - trainable: true gives a bias-free conv plus BatchNorm; false a frozen conv whose bias holds
    ///     the folded BatchNorm.
    public init(name: String, bnName: String, trainable: Bool, inChannels: Int, outChannels: Int, kernel: Int,
                stride: Int = 1, padding: Conv2d.PaddingMode, groups: Int = 1, activation: Activation, bnEps: Float = 1e-5) {
        conv = Conv2d(name: name, inChannels: inChannels, outChannels: outChannels, kernel: kernel, stride: stride,
                      padding: padding, groups: groups, bias: !trainable)
        bn = trainable ? BatchNorm2d(name: bnName, channels: outChannels, eps: bnEps) : nil
        self.activation = activation
        self.bnName = bnName
        self.bnEps = bnEps
        output = bn?.output ?? conv.output
        convolved = conv.output
    }

    /// Where the last forward put the output: the BatchNorm's own, the frozen conv's, or the tensor
    /// a block lent it (`forward(_:_:into:)`).
    public private(set) var output: Tensor
    /// Where the last train-mode forward put the convolution's output (BatchNorm's input): `conv.output`, or
    /// the tensor a block lent `forwardIntoJoin` for it.
    public private(set) var convolved: Tensor

    /// With `into`, a trainable unit writes its output there instead of keeping it: the block that
    /// lends the tensor reads the output only inside its own forward, and calls `recomputeOutput`
    /// before its backward pass needs it again. A training batch then keeps only the convolution's
    /// output of such a unit, not a second copy after BatchNorm. A unit in eval mode, its BatchNorm folded
    /// into the convolution's output, writes that there; a frozen unit ignores `into`.
    @discardableResult
    public func forward(_ x: Tensor, _ ws: Workspace) -> Tensor { forward(x, ws, into: nil) }

    @discardableResult
    public func forward(_ x: Tensor, _ ws: Workspace, into target: Tensor?) -> Tensor {
        guard let bn else { return conv.forward(x, ws, activation: activation) }
        if !bn.training {
            // Eval mode: BatchNorm is a per-channel affine map, applied with the activation as the
            // convolution writes its output.
            let (scale, shift) = bn.evalAffine()
            output = conv.forward(x, ws, scale: scale, shift: shift, activation: activation, into: target)
            return output
        }
        convolved = conv.forward(x, ws)
        output = target ?? bn.output
        bn.forward(convolved, into: output, activation: activation)
        return output
    }

    /// At inference (`infers`), the output into `target`, frozen or not: `forward(_:_:into:)` keeps a frozen
    /// unit's output in its own `conv.output`, a tensor per unit that a network's inference then writes once
    /// per image at addresses nothing else touches. A block that lends its workspace's tensors instead keeps
    /// its units' outputs in a few tensors that stay in the cache from one block to the next.
    @discardableResult
    public func forward(_ x: Tensor, _ ws: Workspace, inferringInto target: Tensor) -> Tensor {
        precondition(infers, "\(conv.weight.name): only a frozen or eval-mode unit infers")
        guard bn == nil else { return forward(x, ws, into: target) }
        output = conv.forward(x, ws, activation: activation, into: target)
        return output
    }

    /// Runs `body` with what an inference forward (frozen, or BatchNorm in eval mode) applies to the
    /// convolution's output, as `forward` applies it: the bias, or BatchNorm's scale and shift, then the
    /// activation. The unit's output is then its convolution's, which the caller fills.
    func withInferenceEpilogue<T>(_ body: (GemmEpilogue) -> T) -> T {
        output = conv.output
        guard let bn else {
            return body(GemmEpilogue(bias: conv.bias.map { UnsafePointer($0.value) }, activation: activation))
        }
        precondition(!bn.training, "\(conv.weight.name): a train-mode BatchNorm has no inference epilogue")
        let (scale, shift) = bn.evalAffine()
        return scale.withUnsafeBufferPointer { s in
            shift.withUnsafeBufferPointer { b in
                body(GemmEpilogue(scale: s.baseAddress, bias: b.baseAddress, activation: activation))
            }
        }
    }

    /// Whether `forward` runs as at inference (no batch statistics, nothing kept for a backward pass): the
    /// convolution then writes the unit's final output, and what follows may be fused into it
    /// (`forward(_:_:adding:activation:into:)`).
    public var infers: Bool { bn.map { !$0.training } ?? true }

    /// activation(unit(x) + residual), the unit's own activation being the identity: a residual block's
    /// last convolution and its join in one, the shortcut added as the convolution writes its output, at
    /// the roundings of the unit followed by a separate `ResidualAdd`. The output goes to `target` (the join's
    /// own tensor), not to `conv.output`, which a training forward then need not have grown to.
    @discardableResult
    public func forward(_ x: Tensor, _ ws: Workspace, adding residual: Tensor, activation joined: Activation, into target: Tensor) -> Tensor {
        precondition(infers && activation == .identity, "\(conv.weight.name): only an unactivated frozen or eval-mode unit joins a residual")
        guard let bn else {
            output = conv.forward(x, ws, activation: joined, adding: residual, into: target)
            return output
        }
        let (scale, shift) = bn.evalAffine()
        output = conv.forward(x, ws, scale: scale, shift: shift, activation: joined, adding: residual, into: target)
        return output
    }

    /// Train mode, for a unit whose output only the depthwise unit after it reads (an inverted residual's
    /// expansion): the convolution only. That unit takes BatchNorm's batch statistics, then normalises and
    /// activates as it reads (`forward(_:_:into:)` with the result, and `normalizedOutput` for its backward
    /// pass), so that no tensor holds this unit's output, neither there nor recomputed for the backward pass.
    /// Nil, with nothing done, for a unit not in train mode.
    public func forwardUnnormalized(_ x: Tensor, _ ws: Workspace) -> NormalizedTensor? {
        guard let bn, bn.training else { return nil }
        convolved = conv.forward(x, ws)
        output = convolved
        return normalizedOutput
    }

    /// The last train-mode forward's output as the values a depthwise unit reads (`NormalizedTensor`).
    public var normalizedOutput: NormalizedTensor {
        guard let bn, bn.training else { preconditionFailure("\(conv.weight.name): only a train-mode unit normalises lazily") }
        return NormalizedTensor(convolved, bn, activation)
    }

    /// A depthwise unit's forward on what `forwardUnnormalized` left: as `forward(_:_:into:)` on that unit's
    /// output, to the same floats. Channel by channel, the unit before's BatchNorm takes the channel's batch
    /// statistics just before the convolution reads it, and this unit's BatchNorm normalises the channel's
    /// output just after it is written, each pass finding its channel in cache.
    @discardableResult
    public func forward(_ x: NormalizedTensor, _ ws: Workspace, into target: Tensor?) -> Tensor {
        guard let bn, bn.training else { preconditionFailure("\(conv.weight.name): a normalised input is for training") }
        let g = conv.geometry(x.x), out = target ?? bn.output, activation = activation
        precondition(x.bn.training && g.n * g.oh * g.ow > 1, "\(conv.weight.name): batch statistics need train mode and two values")
        out.resize(c: conv.outChannels, n: g.n, h: g.oh, w: g.ow)
        let z = conv.output
        convolved = conv.forward(normalized: x, ws, starting: { c in x.bn.statistics(channel: c, x.x) },
                                 finished: { c in bn.forward(channel: c, z, into: out, activation: activation) })
        output = out
        return output
    }

    /// A depthwise unit's backward pass on what `forwardUnnormalized` left: dL/d(x.x), the gradient at the unit
    /// before's convolution output, into `target`. Channel by channel, as soon as the convolution has written
    /// a channel of dL/d(its input), the unit before's BatchNorm turns it into that, in place, while it is in cache
    /// (`BatchNorm2d.backward(channel:_:_:into:activation:)`, the same floats as its whole-tensor pass); that
    /// unit then runs only its convolution's backward pass (`backward(_:convolutionGradient:_:needInputGrad:into:)`).
    @discardableResult
    public func backward(_ x: NormalizedTensor, _ dy: Tensor, _ ws: Workspace, into target: Tensor) -> Tensor {
        let before = x.bn
        precondition(before.training && target !== x.x, "\(conv.weight.name): a normalised input is for training, its gradient elsewhere")
        before.weight.enableGrad(); before.bias.enableGrad()
        return depthwiseBackward(x.x, normalized: x, dy, ws, needInputGrad: true, into: target) { c in
            before.backward(channel: c, x.x, target, into: target, activation: x.activation)
        }
    }

    /// The backward pass of a unit whose output a depthwise unit read normalised (`forwardUnnormalized`), given
    /// dL/d(its convolution's output), which that unit's backward pass returned: the convolution's alone.
    @discardableResult
    public func backward(_ x: Tensor, convolutionGradient dz: Tensor, _ ws: Workspace, needInputGrad: Bool, into target: Tensor?) -> Tensor {
        precondition(bn?.training == true && dz.sameShape(convolved), "\(conv.weight.name): not a lazily normalised train-mode unit")
        return conv.backward(x, dz, ws, needInputGrad: needInputGrad, into: target)
    }

    /// A trainable depthwise unit's backward pass: BatchNorm's sums, then the convolution's backward reading dy
    /// as BatchNorm's dL/dx (`BatchNormGradient`), which no pass writes out. dy is left as it was.
    private func depthwiseBackward(_ x: Tensor, normalized: NormalizedTensor?, _ dy: Tensor, _ ws: Workspace, needInputGrad: Bool,
                                   into target: Tensor?, finished: ((Int) -> Void)? = nil) -> Tensor {
        guard let bn, bn.training, conv.isDepthwise else { preconditionFailure("\(conv.weight.name): not a train-mode depthwise unit") }
        precondition(target !== dy && dy.sameShape(convolved), "\(conv.weight.name): the input gradient cannot overwrite dy")
        bn.weight.enableGrad(); bn.bias.enableGrad()
        let z = convolved, activation = activation
        // Each channel's sums just before the convolution reads that channel of dy and z, which it then finds in cache.
        return conv.backward(x, normalized: normalized, dy, gradient: BatchNormGradient(z: z, bn: bn, activation: activation), ws,
                             needInputGrad: needInputGrad, into: target, starting: { c in bn.gradientSums(channel: c, z, dy, activation: activation) },
                             finished: finished)
    }

    /// For a unit whose output only a residual join reads: in training, with no activation, the
    /// convolution and BatchNorm's batch statistics only, the join normalising the convolution's output
    /// as it adds (`ResidualAdd.Side`), so that no tensor holds this unit's output; otherwise the
    /// ordinary forward into `target`. With `convolving`, the convolution's output goes there instead of
    /// into `conv.output`: a tensor the block lends (one shared by the network's blocks, or the join's
    /// output, which the join then overwrites), and refills with `recomputeConvolution` before its backward
    /// pass reads it.
    public func forwardIntoJoin(_ x: Tensor, _ ws: Workspace, into target: Tensor, convolving lent: Tensor? = nil) -> ResidualAdd.Side {
        guard let bn, bn.training, activation == .identity else { return ResidualAdd.Side(forward(x, ws, into: target)) }
        convolved = conv.forward(x, ws, into: lent)
        bn.statistics(convolved)
        return ResidualAdd.Side(convolved, normalizedBy: bn)
    }

    /// The last forward's convolution output again, bit for bit (the same weights, input and kernel), into the
    /// tensor lent to `forwardIntoJoin`: `x` is the input that forward read, recomputed by the caller where it
    /// was not kept.
    public func recomputeConvolution(from x: Tensor, _ ws: Workspace) {
        guard convolved !== conv.output else { return }
        conv.forward(x, ws, into: convolved)
    }

    /// pool.forward(unit(x)) for a unit that `infers`, its output pooled band by band as the convolution
    /// writes it (the ResNets' stem; `Conv2d.pooledForward`): the unit's output is never filled.
    @discardableResult
    public func forward(_ x: Tensor, _ ws: Workspace, pooledBy pool: MaxPool2d) -> Tensor {
        withInferenceEpilogue { conv.pooledForward(x, ws, $0, pool) }
    }

    /// The last forward's output again, bit for bit, into the tensor lent to that forward.
    public func recomputeOutput() {
        guard let bn, output !== bn.output else { return }
        bn.recompute(convolved, into: output, activation: activation)
    }

    /// dL/dx into `conv.inputGrad`, or into `into`, which must not be `dy` (added to it with `adding`, see
    /// `Conv2d.backward`). A trainable unit's BatchNorm writes its dL/dx over `dy` (the activation's mask
    /// folded in, see `BatchNorm2d.backward`), or into `keepingDy` for a `dy` that the other branch of a
    /// residual block still reads: that may be `convolved`, BatchNorm's input, when the block recomputed it
    /// for this pass alone. A frozen unit masks `dy` in place. With `masking` (a dense unit with BatchNorm), `dy` is
    /// filled (resized) from a residual join's gradient through its mask channel by channel, each just before
    /// BatchNorm reads it; `dy` may be that gradient itself.
    @discardableResult
    public func backward(_ x: Tensor, _ dy: Tensor, _ ws: Workspace, needInputGrad: Bool, into target: Tensor? = nil,
                         adding: Bool = false, keepingDy spare: Tensor? = nil, masking: ResidualAdd.PendingMask? = nil) -> Tensor {
        precondition(target !== dy, "\(conv.weight.name): the input gradient cannot overwrite dy")
        guard let bn else {
            precondition(spare == nil && masking == nil, "\(conv.weight.name): a frozen unit masks dy in place")
            activation.backward(output: output, grad: dy)
            return conv.backward(x, dy, ws, needInputGrad: needInputGrad, into: target, adding: adding)
        }
        precondition(spare !== dy, "\(conv.weight.name): keeping dy needs another tensor")
        if conv.isDepthwise && !adding && bn.training {
            precondition(masking == nil, "\(conv.weight.name): a depthwise unit reads dy masked already")
            return depthwiseBackward(x, normalized: nil, dy, ws, needInputGrad: needInputGrad, into: target)
        }
        if let g = masking?.dy { dy.resize(c: g.c, n: g.n, h: g.h, w: g.w) }
        let dz = bn.backward(convolved, dy, into: spare ?? dy, activation: activation,
                             preparing: masking.map { m in { m.apply(channel: $0, into: dy) } })
        precondition(target !== dz, "\(conv.weight.name): the input gradient cannot overwrite BatchNorm's")
        return conv.backward(x, dz, ws, needInputGrad: needInputGrad, into: target, adding: adding)
    }

    /// `backward` for a unit whose input is the output of `before`, a train-mode unit that wrote it to a tensor a
    /// block lent and reused (`forward(_:_:into:)`): the weight gradient reads it through `before`'s BatchNorm from
    /// its convolution's output where its GEMM can (`Conv2d.readsNormalizedInput`), else `before` recomputes it
    /// first. The same floats either way; dL/dx into `target`, BatchNorm's into `keepingDy` as in `backward`.
    @discardableResult
    public func backward(after before: ConvUnit, _ dy: Tensor, _ ws: Workspace, into target: Tensor, keepingDy spare: Tensor? = nil) -> Tensor {
        let x = before.normalizedOutput
        guard let bn, bn.training, conv.readsNormalizedInput(x.x) else {
            before.recomputeOutput()
            return backward(before.output, dy, ws, needInputGrad: true, into: target, keepingDy: spare)
        }
        precondition(target !== dy && spare !== dy, "\(conv.weight.name): the input gradient and BatchNorm's cannot overwrite dy")
        let dz = bn.backward(convolved, dy, into: spare ?? dy, activation: activation)
        return conv.backward(normalized: x, dz, ws, into: target)
    }

    public var parameters: [Parameter] { conv.parameters + (bn?.parameters ?? []) }
    public var state: [Parameter] { conv.parameters + (bn?.state ?? []) }
    public func setTraining(_ on: Bool) { bn?.training = on }

    /// Folds an eval-mode BatchNorm (given as torch's four vectors) into this frozen unit's conv:
    /// w' = w * scale[o], b' = shift[o], with scale = gamma / sqrt(var + eps).
    public func foldBatchNorm(weight: [Float], bias: [Float], mean: [Float], variance: [Float]) {
        let eps = bnEps
        guard let b = conv.bias else { preconditionFailure("\(conv.weight.name): only frozen units fold BatchNorm") }
        let per = conv.weight.count / conv.outChannels
        for o in 0..<conv.outChannels {
            let scale = Double(weight[o]) / (Double(variance[o]) + Double(eps)).squareRoot()
            for i in 0..<per { conv.weight.value[o * per + i] = Float(Double(conv.weight.value[o * per + i]) * scale) }
            b.value[o] = Float(Double(bias[o]) - Double(mean[o]) * scale)
        }
        conv.weight.markChanged()
    }
}
