import Numerics

/// The Caffe-style (v1) bottleneck of open_nsfw's ResNet-50-1by2: the stride sits on the first 1x1
/// (`branch2a`), not on the 3x3. relu(2c(relu(2b(relu(2a x)))) + shortcut(x)).
final class Bottleneck: Layer {
    let branch2a: ConvUnit
    let branch2b: ConvUnit
    let branch2c: ConvUnit
    let projection: ConvUnit?
    let join = ResidualAdd(activation: .relu)

    init(prefix: String, inChannels: Int, width: Int, outChannels: Int, stride: Int, project: Bool, role: Role) {
        func unit(_ n: String, _ i: Int, _ o: Int, k: Int, s: Int, act: Activation) -> ConvUnit {
            ConvUnit(name: "\(prefix).\(n)", bnName: "\(prefix).\(n).bn", trainable: role.trainable, inChannels: i, outChannels: o,
                     kernel: k, stride: s, padding: .fixed(.symmetric(k / 2)), activation: act)
        }
        branch2a = unit("branch2a", inChannels, width, k: 1, s: stride, act: .relu)
        branch2b = unit("branch2b", width, width, k: 3, s: 1, act: .relu)
        branch2c = unit("branch2c", width, outChannels, k: 1, s: 1, act: .identity)
        projection = project ? unit("proj_shortcut", inChannels, outChannels, k: 1, s: stride, act: .identity) : nil
        output = join.output
    }

    var units: [ConvUnit] { [branch2a, branch2b, branch2c] + (projection.map { [$0] } ?? []) }
    /// The join's output; in inference the last convolution writes it, joining the shortcut as it goes, and
    /// a block with an identity shortcut writes it over its input (`infer`).
    private(set) var output: Tensor
    /// The last forward ran as at inference (the join fused into the last convolution): no backward.
    private var inferred = false

    /// Only the join's output leaves the block, so every unit's output goes to the workspace's shared
    /// `blockActivations`, each into one the unit before has finished with: 2a and 2b are recomputed for
    /// the backward pass. 2c's convolution output, as wide as the block's output, goes to the workspace's
    /// `joinConvolution` and is recomputed too: a 1x1 convolution of 2b's output, about a fifth of the
    /// block's multiply-adds, which saves a tensor the size of the block's output per block.
    func forward(_ x: Tensor, _ ws: Workspace) -> Tensor {
        if branch2c.infers && branch2c.conv.joinsInPlace { return infer(x, ws) }
        let a = ws.blockActivations
        branch2a.forward(x, ws, into: a[0])
        branch2b.forward(branch2a.output, ws, into: a[1])
        inferred = join.join(branch2c, on: branch2b.output, shortcut: projection, of: x, ws, lent: (a[0], a[1]),
                             convolving: ws.joinConvolution)
        output = join.output
        return output
    }

    /// The inference forward where 2c joins in place (`Conv2d.joinsInPlace`), frozen units too writing into
    /// the lent tensors (`ConvUnit.forward(_:_:inferringInto:)`). A projection writes the join's output, which
    /// 2c then adds onto; an identity block adds 2c's output onto its input: nothing reads a block's input
    /// after the block (the taps end stages, and the block after a tap has a projection). So a stage passes
    /// one tensor from block to block, where each unit and block wrote a tensor of its own (about 23 MB per
    /// ResNet-50-1by2 network and image, each written at addresses untouched since the image before, whose
    /// lines every store first fetched from memory).
    private func infer(_ x: Tensor, _ ws: Workspace) -> Tensor {
        let a = ws.blockActivations
        branch2a.forward(x, ws, inferringInto: a[0])
        branch2b.forward(a[0], ws, inferringInto: a[1])
        let sum = projection.map { $0.forward(x, ws, inferringInto: join.output) } ?? x
        output = branch2c.forward(a[1], ws, adding: sum, activation: join.activation, into: sum)
        inferred = true
        return output
    }

    /// The main branch keeps the masked `dy` for the shortcut: 2c's BatchNorm writes its gradient over its
    /// own input (the recomputed convolution output, each value read before it is written), and the inner
    /// gradients pass between `innerGradient` and `branchGradient` (each only as wide as the block's inner
    /// width). With an identity shortcut the join masks `dy` into `target` and 2a's convolution adds its
    /// dL/dx onto it there (its GEMM adds what C holds to each finished sum, as a separate add rounds),
    /// which saves a pass over the block's output; a projection adds its dL/dx onto 2a's in `target`.
    func backward(_ x: Tensor, _ dy: Tensor, _ ws: Workspace, into target: Tensor?) {
        precondition(!inferred, "backward after an inference forward")
        branch2a.recomputeOutput()
        branch2b.recomputeOutput()
        branch2c.recomputeConvolution(from: branch2b.output, ws)
        let identity = projection == nil && target != nil
        let masked = identity ? target! : dy
        let dc = branch2c.backward(branch2b.output, masked, ws, needInputGrad: true, into: ws.innerGradient,
                                   keepingDy: branch2c.convolved, masking: join.pendingMask(dy))
        let db = branch2b.backward(branch2a.output, dc, ws, needInputGrad: true, into: ws.branchGradient)
        branch2a.backward(x, db, ws, needInputGrad: target != nil, into: target, adding: identity)
        if let projection { join.backwardShortcut(projection, of: x, dy, ws, into: target) }
    }

    var parameters: [Parameter] { units.flatMap(\.parameters) }
    var state: [Parameter] { units.flatMap(\.state) }
    func setTraining(_ on: Bool) { units.forEach { $0.setTraining(on) } }
}
