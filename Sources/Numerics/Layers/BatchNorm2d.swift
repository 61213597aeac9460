/// Batch normalisation over channel-major tensors, as torch.nn.BatchNorm2d.
///
/// Train mode normalises with the batch's biased variance and moves the running statistics by
/// `momentum` toward the batch mean and the *unbiased* batch variance, as torch does.
public final class BatchNorm2d {
    public let channels: Int
    public let eps: Float
    public let momentum: Float
    public let weight: Parameter
    public let bias: Parameter
    public let runningMean: Parameter
    public let runningVar: Parameter
    public var training = false
    public let output = Tensor(c: 0, n: 0, h: 0, w: 0)
    public let inputGrad = Tensor(c: 0, n: 0, h: 0, w: 0)
    /// The last train-mode batch's statistics, one channel per parallel chunk. Raw buffers: each
    /// element write to an array property is an exclusive access to the whole array, a data race
    /// between the chunks (ThreadSanitizer reports it) and a copy-on-write hazard.
    private let batchMean: UnsafeMutablePointer<Float>
    private let batchInvStd: UnsafeMutablePointer<Float>
    /// The last `gradientSums`' (k, a, b) of each channel: dL/dx = k * (g - a - xhat * b).
    private let gradientTerms: UnsafeMutablePointer<SIMD4<Float>>
    /// Every channel's `batchAffine` side by side (`batchAffines`).
    private let affineScale: UnsafeMutablePointer<Float>
    private let affineShift: UnsafeMutablePointer<Float>

    public init(name: String, channels: Int, eps: Float = 1e-5, momentum: Float = 0.1) {
        self.channels = channels
        self.eps = eps
        self.momentum = momentum
        weight = Parameter(name: name + ".weight", shape: [channels], fill: 1)
        bias = Parameter(name: name + ".bias", shape: [channels])
        runningMean = Parameter(name: name + ".running_mean", shape: [channels], trainable: false)
        runningVar = Parameter(name: name + ".running_var", shape: [channels], trainable: false, fill: 1)
        batchMean = .allocate(capacity: max(channels, 1))
        batchMean.initialize(repeating: 0, count: max(channels, 1))
        batchInvStd = .allocate(capacity: max(channels, 1))
        batchInvStd.initialize(repeating: 0, count: max(channels, 1))
        gradientTerms = .allocate(capacity: max(channels, 1))
        gradientTerms.initialize(repeating: .zero, count: max(channels, 1))
        affineScale = .allocate(capacity: max(channels, 1))
        affineScale.initialize(repeating: 0, count: max(channels, 1))
        affineShift = .allocate(capacity: max(channels, 1))
        affineShift.initialize(repeating: 0, count: max(channels, 1))
    }

    deinit {
        batchMean.deallocate()
        batchInvStd.deallocate()
        gradientTerms.deallocate()
        affineScale.deallocate()
        affineShift.deallocate()
    }

    public var parameters: [Parameter] { [weight, bias] }
    public var state: [Parameter] { [weight, bias, runningMean, runningVar] }

    /// Per-channel (scale, shift) of the eval-mode transform y = x * scale + shift.
    public func evalAffine() -> (scale: [Float], shift: [Float]) {
        var scale = [Float](repeating: 0, count: channels), shift = scale
        for c in 0..<channels {
            let s = Double(weight.value[c]) / (Double(runningVar.value[c]) + Double(eps)).squareRoot()
            scale[c] = Float(s)
            shift[c] = Float(Double(bias.value[c]) - Double(runningMean.value[c]) * s)
        }
        return (scale, shift)
    }

    /// activation(batch norm of x) into `output`, or into `into`: the activation rides the normalising
    /// pass instead of a pass of its own.
    @discardableResult
    public func forward(_ x: Tensor, into target: Tensor? = nil, activation: Activation = .identity) -> Tensor {
        precondition(x.c == channels, "\(weight.name): input has \(x.c) channels, expected \(channels)")
        let output = target ?? self.output
        output.resize(c: x.c, n: x.n, h: x.h, w: x.w)
        let m = x.rowLength
        if training {
            precondition(m > 1, "\(weight.name): batch statistics need more than one value per channel")
            parallelFor(channels, work: channels * m) { range in
                for c in range { forward(channel: c, x, into: output, activation: activation) }
            }
        } else {
            let (scale, shift) = evalAffine()
            parallelFor(channels, work: channels * m) { range in
                for c in range { activation.apply(x.data + c * m, output.data + c * m, m, scale: scale[c], shift: shift[c]) }
            }
        }
        return output
    }

    /// Train mode only: the batch statistics of `x` (and the running statistics moved by them), without
    /// the normalised output, which a residual join applies as it reads `x` (`ResidualAdd`, `batchAffine`).
    public func statistics(_ x: Tensor) {
        precondition(training, "\(weight.name): batch statistics are for train mode")
        precondition(x.c == channels, "\(weight.name): input has \(x.c) channels, expected \(channels)")
        precondition(x.rowLength > 1, "\(weight.name): batch statistics need more than one value per channel")
        parallelFor(channels, work: x.count) { range in for c in range { batchStatistics(x, c) } }
    }

    /// Train mode: `forward` of channel `c` alone, into `target` (resized by the caller), for a pass that has
    /// just written that channel of x and calls this while it is in cache (`ConvUnit.forward(_:_:into:)`).
    public func forward(channel c: Int, _ x: Tensor, into target: Tensor, activation: Activation) {
        let m = x.rowLength
        batchStatistics(x, c)
        let (scale, shift) = batchAffine(c)
        activation.apply(x.data + c * m, target.data + c * m, m, scale: scale, shift: shift)
    }

    /// Train mode: `statistics` of channel `c` alone, for a pass about to read that channel of x, which then
    /// finds it in cache (`ConvUnit.forward(_:_:into:)`).
    public func statistics(channel c: Int, _ x: Tensor) {
        precondition(x.rowLength > 1, "\(weight.name): batch statistics need more than one value per channel")
        batchStatistics(x, c)
    }

    /// Channel `c`'s batch mean and 1/std from `x`, and the running statistics moved by them.
    @inline(__always)
    private func batchStatistics(_ x: Tensor, _ c: Int) {
        let m = x.rowLength, row = x.data + c * m
        let mean = chunkedSum(row, m) / Double(m)
        let sq = chunkedSquaredDeviation(row, m, mean: Float(mean))
        let variance = sq / Double(m)
        batchMean[c] = Float(mean)
        batchInvStd[c] = Float(1 / (variance + Double(eps)).squareRoot())
        runningMean.value[c] = (1 - momentum) * runningMean.value[c] + momentum * Float(mean)
        let unbiased = Float(sq / Double(m - 1))
        runningVar.value[c] = (1 - momentum) * runningVar.value[c] + momentum * unbiased
    }

    /// The last train-mode forward's output again, bit for bit, from its input `x` (the running statistics
    /// are not moved again): a block recomputes an output it did not keep.
    public func recompute(_ x: Tensor, into target: Tensor, activation: Activation = .identity) {
        precondition(training, "\(weight.name): recompute needs a train-mode forward")
        target.resize(c: x.c, n: x.n, h: x.h, w: x.w)
        let m = x.rowLength
        parallelFor(channels, work: channels * m) { range in
            for c in range {
                let (scale, shift) = batchAffine(c)
                activation.apply(x.data + c * m, target.data + c * m, m, scale: scale, shift: shift)
            }
        }
    }

    /// y = x * scale + shift of channel `c` in the last train-mode batch.
    @inline(__always)
    public func batchAffine(_ c: Int) -> (scale: Float, shift: Float) {
        let scale = batchInvStd[c] * weight.value[c]
        return (scale, bias.value[c] - batchMean[c] * scale)
    }

    /// `batchAffine` of every channel, as the rows of a GEMM operand read them (`RowMap`); valid until the next call.
    func batchAffines() -> (scale: UnsafePointer<Float>, shift: UnsafePointer<Float>) {
        for c in 0..<channels { (affineScale[c], affineShift[c]) = batchAffine(c) }
        return (UnsafePointer(affineScale), UnsafePointer(affineShift))
    }

    /// dL/dx from dL/d(activation(y)) for the last train-mode forward on `x`, into `inputGrad` or `into`,
    /// which may be `dy` or `x` itself (each channel reads its rows before writing them); writes weight and
    /// bias gradients. The activation's mask comes from y recomputed from `x`, so that neither the
    /// activated output nor a masked copy of `dy` has to exist. `preparing(c)`, where given, runs just before
    /// channel c is read, on the same thread (a residual join masking that channel of dy).
    @discardableResult
    public func backward(_ x: Tensor, _ dy: Tensor, into target: Tensor? = nil, activation: Activation = .identity,
                         preparing: ((Int) -> Void)? = nil) -> Tensor {
        precondition(training, "\(weight.name): backward needs a train-mode forward")
        precondition(dy.sameShape(x), "\(weight.name): gradient shape mismatch")
        weight.enableGrad(); bias.enableGrad()
        let inputGrad = target ?? self.inputGrad
        inputGrad.resize(c: x.c, n: x.n, h: x.h, w: x.w)
        parallelFor(channels, work: x.count) { range in
            for c in range {
                preparing?(c)
                backward(channel: c, x, dy, into: inputGrad, activation: activation)
            }
        }
        return inputGrad
    }

    /// `backward` of channel `c` alone, into `target` (resized by the caller; it may be `dy`), the weight and
    /// bias gradients enabled by the caller: for a pass that has just written that channel of dy and calls
    /// this while it is still in cache (`ConvUnit.backward(_:_:_:into:)`).
    public func backward(channel c: Int, _ x: Tensor, _ dy: Tensor, into target: Tensor, activation: Activation) {
        let m = x.rowLength
        gradientSums(x, dy, c, activation)
        let t = inputGradient(c), (scale, shift) = batchAffine(c)
        activation.normGradient(dy.data + c * m, x.data + c * m, target.data + c * m, m, scale: scale, shift: shift,
                                mean: t.mean, inv: t.inv, k: t.k, a: t.a, b: t.b)
    }

    /// The first half of `backward` for channel `c` (gradients enabled by the caller): its weight and bias
    /// gradients, and the terms of its dL/dx (`inputGradient`), which a depthwise convolution then applies as it
    /// reads dy (`BatchNormGradient`) instead of a pass writing dL/dx. Called just before that convolution
    /// reads the channel of x and dy, which it then finds in cache.
    public func gradientSums(channel c: Int, _ x: Tensor, _ dy: Tensor, activation: Activation) {
        precondition(training && dy.sameShape(x), "\(weight.name): backward needs a train-mode forward and dy of x's shape")
        gradientSums(x, dy, c, activation)
    }

    @inline(__always)
    private func gradientSums(_ x: Tensor, _ dy: Tensor, _ c: Int, _ activation: Activation) {
        let m = x.rowLength
        let mean = batchMean[c], inv = batchInvStd[c]
        let (scale, shift) = batchAffine(c)
        let (sumDy, sumDyX) = activation.maskedSums(dy.data + c * m, x.data + c * m, m, scale: scale, shift: shift)
        // sum(dy * xhat) = inv * (sum(dy * x) - mean * sum(dy))
        let sumDyXhat = Double(inv) * (sumDyX - Double(mean) * sumDy)
        weight.grad![c] = Float(sumDyXhat)
        bias.grad![c] = Float(sumDy)
        gradientTerms[c] = SIMD4(weight.value[c] * inv, Float(sumDy / Double(m)), Float(sumDyXhat / Double(m)), 0)
    }

    /// Channel `c`'s dL/dx = k * (g - a - (x - mean) * inv * b) after `gradientSums`, g being dy masked by the
    /// activation's derivative at the forward's y.
    @inline(__always)
    public func inputGradient(_ c: Int) -> (mean: Float, inv: Float, k: Float, a: Float, b: Float) {
        let t = gradientTerms[c]
        return (batchMean[c], batchInvStd[c], t[0], t[1], t[2])
    }
}
