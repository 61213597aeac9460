/// Two inference units of the same shape and activation that read the same input, each followed by its own 3x3
/// stride-2 max pooling: a teacher's and a student's ResNet stems, which score the same image. They run as one
/// pooled convolution (`Conv2d.pooledIm2colForward`) of their stacked weights, so each band of the image is
/// unfolded and packed once for both, where each network unfolded the whole image for itself. A row of the
/// product depends on its own row of weights only, so each unit's pooled output is bit for bit the one
/// `ConvUnit.forward(_:_:pooledBy:)` gives (the scale of a unit without one is 1, an exact product).
public final class PairedPooledConvolution {
    let units: (ConvUnit, ConvUnit)
    let pools: (MaxPool2d, MaxPool2d)
    private let rows: Int, depth: Int
    private let stacked: UnsafeMutablePointer<Float>
    private var scale: [Float], bias: [Float]
    /// The weight versions `stacked` was copied from, and its own version for `packed`.
    private var copied = (-1, -1), version = 0
    private let packed = PackedOperand()

    /// nil unless both units are dense convolutions of the same shape and activation and both pools are 3x3
    /// stride 2 with the same padding.
    public init?(_ a: ConvUnit, pooledBy pa: MaxPool2d, _ b: ConvUnit, pooledBy pb: MaxPool2d) {
        let (x, y) = (a.conv, b.conv)
        guard x.inChannels == y.inChannels, x.outChannels == y.outChannels, x.kernel == y.kernel, x.stride == y.stride,
              x.padding == y.padding, !x.isDepthwise, !y.isDepthwise, a.activation == b.activation,
              [pa, pb].allSatisfy({ $0.kernel == 3 && $0.stride == 2 }), pa.padding == pb.padding else { return nil }
        units = (a, b)
        pools = (pa, pb)
        rows = x.outChannels
        depth = x.weight.count / rows
        stacked = .allocate(capacity: 2 * rows * depth)
        scale = .init(repeating: 1, count: 2 * rows)
        bias = .init(repeating: 0, count: 2 * rows)
    }

    deinit { stacked.deallocate() }

    /// Whether both units run as at inference, as `forward` needs.
    public var infers: Bool { units.0.infers && units.1.infers }

    /// Both units on `x`, pooled into their pools' outputs. Both must run as at inference (`ConvUnit.infers`).
    public func forward(_ x: Tensor, _ ws: Workspace) {
        let (a, b) = units
        precondition(infers && x.c == a.conv.inChannels, "paired stems run frozen or in eval mode on their input")
        let versions = (a.conv.weight.version, b.conv.weight.version)
        if versions != copied {
            stacked.update(from: a.conv.weight.value, count: rows * depth)
            (stacked + rows * depth).update(from: b.conv.weight.value, count: rows * depth)
            copied = versions
            version += 1
        }
        let g = a.conv.geometry(x), pool = pools.0
        let ph = windowCount(g.oh, kernel: 3, stride: 2, padBefore: pool.padding.top, padAfter: pool.padding.bottom)
        let pw = windowCount(g.ow, kernel: 3, stride: 2, padBefore: pool.padding.left, padAfter: pool.padding.right)
        pools.0.output.resize(c: rows, n: x.n, h: ph, w: pw)
        pools.1.output.resize(c: rows, n: x.n, h: ph, w: pw)
        a.conv.outputPlane = g.oh * g.ow
        b.conv.outputPlane = g.oh * g.ow
        a.withInferenceEpilogue { ea in
            b.withInferenceEpilogue { eb in
                precondition(ea.bias != nil && eb.bias != nil && ea.residual == nil && eb.residual == nil,
                             "an inference epilogue has a bias and no residual")
                for i in 0..<rows {
                    (scale[i], bias[i]) = (ea.scale?[i] ?? 1, ea.bias![i])
                    (scale[rows + i], bias[rows + i]) = (eb.scale?[i] ?? 1, eb.bias![i])
                }
                let packedWeights = packed.packed(stacked, m: 2 * rows, k: depth, version: version)
                let anyScale = ea.scale != nil || eb.scale != nil
                scale.withUnsafeBufferPointer { s in
                    bias.withUnsafeBufferPointer { c in
                        let epilogue = GemmEpilogue(scale: anyScale ? s.baseAddress : nil, bias: c.baseAddress, activation: ea.activation)
                        Conv2d.pooledIm2colForward(x, g, weights: stacked, packedWeights, m: 2 * rows, epilogue, pool,
                                                   into: pools.0.output.data, and: pools.1.output.data, ws)
                    }
                }
            }
        }
    }
}
