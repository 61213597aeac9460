/// A stage of a network with an explicit forward and backward, in the manner of llm.c: the caller
/// keeps each layer's input alive until the backward pass and hands it back.
///
/// `backward` may overwrite `dy` (activations mask it in place); the returned gradient lives in the
/// layer's own buffer until its next backward.
public protocol Layer: AnyObject {
    var output: Tensor { get }
    @discardableResult func forward(_ x: Tensor, _ ws: Workspace) -> Tensor
    @discardableResult func backward(_ x: Tensor, _ dy: Tensor, _ ws: Workspace, needInputGrad: Bool) -> Tensor
    /// What SGD updates.
    var parameters: [Parameter] { get }
    /// What a checkpoint holds: parameters plus running statistics.
    var state: [Parameter] { get }
    func setTraining(_ on: Bool)
}

extension MaxPool2d: Layer {
    public func forward(_ x: Tensor, _ ws: Workspace) -> Tensor { forward(x) }
    public func backward(_ x: Tensor, _ dy: Tensor, _ ws: Workspace, needInputGrad: Bool) -> Tensor { backward(x, dy) }
    public var parameters: [Parameter] { [] }
    public var state: [Parameter] { [] }
    public func setTraining(_ on: Bool) {}
}
