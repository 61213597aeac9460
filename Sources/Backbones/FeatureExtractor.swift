import Numerics

/// A backbone truncated after its third pyramid level: a chain of layers, three of whose outputs are
/// the taps (strides 4, 8, 16). Keeps every layer's output for the backward pass.
public final class FeatureExtractor {
    public let kind: BackboneKind
    public let role: Role
    let layers: [Layer]
    let tapLayers: [Int]
    let workspace = Workspace()
    private var lastInput: Tensor?
    /// EfficientNet-Lite0's stem: a bare unit before a block without expansion (`stemBlock`). In training that
    /// block's depthwise unit reads the stem's convolution output normalised (`MBConvBlock.forward(normalized:_:)`),
    /// so no tensor holds the stem's output (64 MiB for a batch of 32 at 256 px), and runs the stem's BatchNorm
    /// backward as it writes the gradient; elsewhere the stem's output goes to the workspace's first block
    /// activation, which that block never writes.
    private let lendingStem: ConvUnit?
    private let stemBlock: MBConvBlock?
    /// Whether the last forward pass ran the stem and its block as above.
    private var stemNormalizedLazily = false

    init(kind: BackboneKind, role: Role, layers: [Layer], tapLayers: [Int]) {
        precondition(tapLayers.count == 3 && tapLayers.last == layers.count - 1, "three taps, the last one ending the network")
        self.kind = kind; self.role = role; self.layers = layers; self.tapLayers = tapLayers
        let next = layers.count > 1 ? layers[1] as? MBConvBlock : nil
        lendingStem = next != nil && next!.expand == nil && next!.join == nil ? layers.first as? ConvUnit : nil
        stemBlock = lendingStem == nil ? nil : next
    }

    public var taps: [Tensor] { tapLayers.map { layers[$0].output } }

    /// Runs the network on a normalised channel-major batch; the taps stay valid until the next call.
    /// `stemDone`: a `StemPair` has just run this network's first layer on `input`, which then starts from its output.
    @discardableResult
    public func forward(_ input: Tensor, stemDone: Bool = false) -> [Tensor] {
        precondition(input.c == 3, "backbones take 3-channel input")
        lastInput = input
        var x = input, first = 0
        if stemDone {
            (x, first) = (layers[0].output, 1)
        } else if let stem = layers.first as? ConvUnit, layers.count > 1, let block = layers[1] as? MBConvBlock,
           let y = block.forward(afterStem: stem, input, workspace) {
            (x, first) = (y, 2)
        }
        stemNormalizedLazily = false
        for layer in layers[first...] {
            if let stem = lendingStem, layer === stem, let e = stem.forwardUnnormalized(x, workspace) {
                stemNormalizedLazily = true
                x = e.x
            } else if let block = stemBlock, layer === block, stemNormalizedLazily {
                x = block.forward(normalized: lendingStem!.normalizedOutput, workspace)
            } else if let stem = lendingStem, layer === stem {
                x = stem.forward(x, workspace, into: workspace.blockActivations[0])
            } else {
                x = layer.forward(x, workspace)
            }
        }
        return taps
    }

    /// Backpropagates the last forward pass, writing every parameter's gradient. `tapGradient(t, g, adding)`
    /// puts dL/d(tap t) into `g` (resizing it), or adds it to `g` where a deeper tap's gradient already
    /// flows: the pass asks for each tap as it reaches it, so that no tap's gradient waits in a tensor of
    /// its own. The deepest tap's goes to the layer gradient its layer does not write.
    public func backward(tapGradient: (_ tap: Int, _ g: Tensor, _ adding: Bool) -> Void) {
        guard let input = lastInput else { preconditionFailure("backward before forward") }
        var g: Tensor? = nil
        for i in stride(from: layers.count - 1, through: 0, by: -1) {
            if let t = tapLayers.firstIndex(of: i) {
                if let flowing = g {
                    tapGradient(t, flowing, true)
                } else {
                    let first = workspace.layerGradients[(i + 1) % 2]
                    tapGradient(t, first, false)
                    g = first
                }
            }
            let target = i > 0 ? workspace.layerGradients[i % 2] : nil
            if stemNormalizedLazily, let stem = lendingStem, let block = stemBlock, i <= 1 {
                // The block returns dL/d(the stem's convolution output): the stem's BatchNorm backward is done.
                if i == 1 { block.backward(normalized: stem.normalizedOutput, g!, workspace, into: target!) }
                else { stem.backward(input, convolutionGradient: g!, workspace, needInputGrad: false, into: nil) }
            } else {
                layers[i].backward(i == 0 ? input : layers[i - 1].output, g!, workspace, into: target)
            }
            g = target
        }
    }

    public var parameters: [Parameter] { layers.flatMap(\.parameters) }
    public var state: [Parameter] { layers.flatMap(\.state) }

    /// The same network with the same weights and buffers of its own, to run another image at the same time
    /// (each layer keeps its output, so one network runs one image at a time).
    public func replica() -> FeatureExtractor {
        let copy = kind.make(role: role)
        for (mine, theirs) in zip(state, copy.state) {
            precondition(mine.name == theirs.name && mine.count == theirs.count, "a replica has the same layers")
            theirs.value.update(from: mine.value, count: mine.count)
            theirs.markChanged()
        }
        return copy
    }
    public func setTraining(_ on: Bool) { layers.forEach { $0.setTraining(on) } }
}
