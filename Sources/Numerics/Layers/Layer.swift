/// A stage of a network with an explicit forward and backward, in the manner of llm.c: the caller
/// keeps each layer's input alive until the backward pass and hands it back.
///
/// `backward` writes dL/dx into the tensor the caller passes (nil: the first layer, whose input needs
/// no gradient), which is never `dy`, and may overwrite `dy`: BatchNorm writes its own gradient over it.
/// A network hands two such tensors back and forth (`Workspace.layerGradients`) instead of keeping one
/// per layer.
public protocol Layer: AnyObject {
    var output: Tensor { get }
    @discardableResult func forward(_ x: Tensor, _ ws: Workspace) -> Tensor
    func backward(_ x: Tensor, _ dy: Tensor, _ ws: Workspace, into target: Tensor?)
    /// What SGD updates.
    var parameters: [Parameter] { get }
    /// What a checkpoint holds: parameters plus running statistics.
    var state: [Parameter] { get }
    func setTraining(_ on: Bool)
}

extension ConvUnit {
    public func backward(_ x: Tensor, _ dy: Tensor, _ ws: Workspace, into target: Tensor?) {
        backward(x, dy, ws, needInputGrad: target != nil, into: target)
    }
}
