import Numerics

/// torchvision's ResNet BasicBlock: relu(bn2(conv2(relu(bn1(conv1 x)))) + shortcut(x)).
final class BasicBlock: Layer {
    let conv1: ConvUnit
    let conv2: ConvUnit
    let downsample: ConvUnit?
    let join = ResidualAdd(activation: .relu)

    init(prefix: String, inChannels: Int, outChannels: Int, stride: Int, role: Role) {
        conv1 = ConvUnit(name: prefix + ".conv1", bnName: prefix + ".bn1", trainable: role.trainable, inChannels: inChannels,
                         outChannels: outChannels, kernel: 3, stride: stride, padding: .fixed(.symmetric(1)), activation: .relu)
        conv2 = ConvUnit(name: prefix + ".conv2", bnName: prefix + ".bn2", trainable: role.trainable, inChannels: outChannels,
                         outChannels: outChannels, kernel: 3, padding: .fixed(.symmetric(1)), activation: .identity)
        downsample = (stride != 1 || inChannels != outChannels)
            ? ConvUnit(name: prefix + ".downsample.0", bnName: prefix + ".downsample.1", trainable: role.trainable, inChannels: inChannels,
                       outChannels: outChannels, kernel: 1, stride: stride, padding: .fixed(.none), activation: .identity)
            : nil
    }

    var units: [ConvUnit] { [conv1, conv2] + (downsample.map { [$0] } ?? []) }
    var output: Tensor { join.output }
    /// The last forward ran as at inference (the join fused into the last convolution): no backward.
    private var inferred = false

    /// Only the join's output leaves the block, so every unit's output goes to the workspace's shared
    /// `blockActivations`, each into one the unit before has finished with: conv1's is recomputed for the
    /// backward pass. In training the join normalises conv2's and the downsample's convolution outputs
    /// itself (no activation), so those two never take a tensor.
    func forward(_ x: Tensor, _ ws: Workspace) -> Tensor {
        let a = ws.blockActivations
        conv1.forward(x, ws, into: a[0])
        let g = ws.layerGradients
        inferred = conv2.infers
        guard !inferred else {
            // Inference: no BatchNorm pass between conv2 and the join, whose add and ReLU go into conv2's output,
            // written to the join's tensor (as the downsample to a lent one: no convolution output of its own).
            let shortcut = downsample.map { $0.forwardIntoJoin(x, ws, into: a[1], scratch: g[1]).x } ?? x
            return conv2.forward(conv1.output, ws, adding: shortcut, activation: join.activation, into: join.output)
        }
        let main = conv2.forwardIntoJoin(conv1.output, ws, into: a[1], scratch: g[0])
        let shortcut = downsample.map { $0.forwardIntoJoin(x, ws, into: a[0], scratch: g[1]) } ?? ResidualAdd.Side(x)
        return join.forward(main, shortcut)
    }

    /// The shortcut reads `dy` after the main branch, which keeps it: conv2's BatchNorm gradient goes to
    /// `target`, which nothing writes before conv1's convolution. The shortcut's dL/dx is then added onto
    /// conv1's in `target`.
    func backward(_ x: Tensor, _ dy: Tensor, _ ws: Workspace, into target: Tensor?) {
        precondition(!inferred, "backward after an inference forward")
        conv1.recomputeOutput()
        join.backward(dy)
        let d1 = conv2.backward(conv1.output, dy, ws, needInputGrad: true, into: ws.innerGradient,
                                keepingDy: target ?? ws.branchGradient)
        conv1.backward(x, d1, ws, needInputGrad: target != nil, into: target)
        if let downsample {
            downsample.backward(x, dy, ws, needInputGrad: target != nil, into: target, adding: target != nil)
        } else if let target {
            addInPlace(target, dy)
        }
    }

    var parameters: [Parameter] { units.flatMap(\.parameters) }
    var state: [Parameter] { units.flatMap(\.state) }
    func setTraining(_ on: Bool) { units.forEach { $0.setTraining(on) } }
}
