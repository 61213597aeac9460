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
    /// In inference the last convolution writes it, joining the shortcut as it goes.
    var output: Tensor { join.output }
    /// The last forward ran as at inference (the join fused into the last convolution): no backward.
    private var inferred = false

    /// Only the join's output leaves the block, so every unit's output goes to the workspace's shared
    /// `blockActivations`, each into one the unit before has finished with: conv1's is recomputed for the
    /// backward pass.
    func forward(_ x: Tensor, _ ws: Workspace) -> Tensor {
        let a = ws.blockActivations
        conv1.forward(x, ws, into: a[0])
        inferred = join.join(conv2, on: conv1.output, shortcut: downsample, of: x, ws, lent: (a[1], a[0]))
        return output
    }

    /// The shortcut reads `dy` after the main branch, which keeps it: conv2's BatchNorm gradient goes to
    /// `target`, which nothing writes before conv1's convolution. The shortcut's dL/dx is then added onto
    /// conv1's in `target`.
    func backward(_ x: Tensor, _ dy: Tensor, _ ws: Workspace, into target: Tensor?) {
        precondition(!inferred, "backward after an inference forward")
        conv1.recomputeOutput()
        let d1 = conv2.backward(conv1.output, dy, ws, needInputGrad: true, into: ws.innerGradient,
                                keepingDy: target ?? ws.branchGradient, masking: join.pendingMask(dy))
        conv1.backward(x, d1, ws, needInputGrad: target != nil, into: target)
        join.backwardShortcut(downsample, of: x, dy, ws, into: target)
    }

    var parameters: [Parameter] { units.flatMap(\.parameters) }
    var state: [Parameter] { units.flatMap(\.state) }
    func setTraining(_ on: Bool) { units.forEach { $0.setTraining(on) } }
}
