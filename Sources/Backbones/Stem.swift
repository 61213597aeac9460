import Numerics

/// The ResNets' stem: a strided ConvUnit, then max pooling. Only the pool's output leaves it, so in
/// training the unit writes its activated output, the network's largest tensor, into the workspace's
/// first layer gradient, which no forward pass uses: the pool records where each window's maximum lay,
/// and the backward pass routes the gradient by that record into the same tensor, never reading the
/// output again.
final class Stem: Layer {
    let unit: ConvUnit
    let pool: MaxPool2d

    init(unit: ConvUnit, pool: MaxPool2d) { self.unit = unit; self.pool = pool }

    var units: [ConvUnit] { [unit] }
    var output: Tensor { pool.output }

    func forward(_ x: Tensor, _ ws: Workspace) -> Tensor {
        // Inference pools the unit's output band by band as its GEMM writes it: never whole in memory.
        guard !unit.infers else { return unit.forward(x, ws, pooledBy: pool) }
        unit.forward(x, ws, into: ws.layerGradients[0])
        return pool.forward(unit.output)
    }

    func backward(_ x: Tensor, _ dy: Tensor, _ ws: Workspace, into target: Tensor?) {
        let grad = ws.layerGradients[0]
        precondition(dy !== grad, "the stem's gradient cannot overwrite dy")
        pool.backward(dy, into: grad)
        unit.backward(x, grad, ws, needInputGrad: target != nil, into: target)
    }

    var parameters: [Parameter] { unit.parameters }
    var state: [Parameter] { unit.state }
    func setTraining(_ on: Bool) { unit.setTraining(on); pool.recordsArgmax = on }
}
