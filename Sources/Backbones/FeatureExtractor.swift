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

    init(kind: BackboneKind, role: Role, layers: [Layer], tapLayers: [Int]) {
        precondition(tapLayers.count == 3 && tapLayers.last == layers.count - 1, "three taps, the last one ending the network")
        self.kind = kind; self.role = role; self.layers = layers; self.tapLayers = tapLayers
    }

    public var taps: [Tensor] { tapLayers.map { layers[$0].output } }

    /// Runs the network on a normalised channel-major batch; the taps stay valid until the next call.
    @discardableResult
    public func forward(_ input: Tensor) -> [Tensor] {
        precondition(input.c == 3, "backbones take 3-channel input")
        lastInput = input
        var x = input
        for layer in layers { x = layer.forward(x, workspace) }
        return taps
    }

    /// Backpropagates dL/dtap for each tap through the last forward pass, writing every parameter's
    /// gradient. The tap gradients may be overwritten.
    public func backward(tapGrads: [Tensor]) {
        guard let input = lastInput else { preconditionFailure("backward before forward") }
        precondition(tapGrads.count == 3, "one gradient per tap")
        var g: Tensor? = nil
        for i in stride(from: layers.count - 1, through: 0, by: -1) {
            if let t = tapLayers.firstIndex(of: i) {
                if let flowing = g { addInPlace(flowing, tapGrads[t]) } else { g = tapGrads[t] }
            }
            let x = i == 0 ? input : layers[i - 1].output
            let target = i > 0 ? workspace.layerGradients[i % 2] : nil
            layers[i].backward(x, g!, workspace, into: target)
            g = target
        }
    }

    public var parameters: [Parameter] { layers.flatMap(\.parameters) }
    public var state: [Parameter] { layers.flatMap(\.state) }
    public func setTraining(_ on: Bool) { layers.forEach { $0.setTraining(on) } }
}
