import Numerics

/// EfficientNet-Lite's inverted residual: [expand 1x1, ReLU6] -> depthwise kxk, ReLU6 -> project 1x1
/// (no activation), plus the input when the shape is unchanged. No squeeze-excitation in Lite models.
final class MBConvBlock: Layer {
    let expand: ConvUnit?
    let depthwise: ConvUnit
    let project: ConvUnit
    let join: ResidualAdd?

    init(index: Int, inChannels: Int, outChannels: Int, expandRatio: Int, kernel: Int, stride: Int, role: Role) {
        let p = "_blocks.\(index)"
        let mid = inChannels * expandRatio
        let eps = role.bnEps(teacher: 1e-3)
        expand = expandRatio == 1 ? nil
            : ConvUnit(name: p + "._expand_conv", bnName: p + "._bn0", trainable: role.trainable, inChannels: inChannels,
                       outChannels: mid, kernel: 1, padding: .tfSame, activation: .relu6, bnEps: eps)
        depthwise = ConvUnit(name: p + "._depthwise_conv", bnName: p + "._bn1", trainable: role.trainable, inChannels: mid,
                             outChannels: mid, kernel: kernel, stride: stride, padding: .tfSame, groups: mid,
                             activation: .relu6, bnEps: eps)
        project = ConvUnit(name: p + "._project_conv", bnName: p + "._bn2", trainable: role.trainable, inChannels: mid,
                           outChannels: outChannels, kernel: 1, padding: .tfSame, activation: .identity, bnEps: eps)
        join = (stride == 1 && inChannels == outChannels) ? ResidualAdd(activation: .identity) : nil
    }

    var units: [ConvUnit] { (expand.map { [$0] } ?? []) + [depthwise, project] }
    var output: Tensor { join?.output ?? project.output }

    /// The expanded tensors (expand's and depthwise's outputs) are the widest of the network and are read
    /// only inside the block. In training the depthwise unit normalises and activates expand's convolution
    /// output as it reads it, in both passes (`ConvUnit.forwardUnnormalized`), so no tensor holds expand's
    /// output; depthwise's goes to the workspace's shared `blockActivations` and is recomputed from its
    /// convolution's output for the backward pass. Before a join, the projection's output is
    /// read by the join alone, and its backward (no activation) never reads it: in training the join
    /// normalises the projection's convolution output itself, otherwise that output goes to the first
    /// of them, dead by then.
    /// At inference the block runs band by band instead (`InvertedResidualBands`), to the same floats; a
    /// block without expansion runs so with the stem before it (`forward(afterStem:_:_:)`).
    func forward(_ x: Tensor, _ ws: Workspace) -> Tensor {
        if let expand, let y = InvertedResidualBands.forward(x, expand: expand, depthwise: depthwise, project: project,
                                                              join: join, ws) {
            return y
        }
        if let e = expand?.forwardUnnormalized(x, ws) {
            depthwise.forward(e, ws, into: ws.blockActivations[1])
        } else {
            depthwise.forward(expand.map { $0.forward(x, ws, into: ws.blockActivations[0]) } ?? x, ws, into: ws.blockActivations[1])
        }
        guard let join else { return project.forward(depthwise.output, ws) }
        return join.forward(project.forwardIntoJoin(depthwise.output, ws, into: ws.blockActivations[0]), .init(x))
    }

    /// At inference, a block without expansion and the stem convolution before it, band by band from
    /// the image (`InvertedResidualBands`): the stem's output is never stored. Nil where that does not
    /// apply; the caller then runs the two layers.
    func forward(afterStem stem: ConvUnit, _ image: Tensor, _ ws: Workspace) -> Tensor? {
        guard expand == nil else { return nil }
        return InvertedResidualBands.forward(image, expand: stem, depthwise: depthwise, project: project, join: join, ws)
    }

    /// In training, a block without expansion or join after a bare unit (EfficientNet-Lite0's stem), that unit's
    /// output read normalised as the depthwise unit reads it (`ConvUnit.forwardUnnormalized`).
    func forward(normalized x: NormalizedTensor, _ ws: Workspace) -> Tensor {
        precondition(expand == nil && join == nil, "only a block without expansion or join reads a normalised input")
        depthwise.forward(x, ws, into: ws.blockActivations[1])
        return project.forward(depthwise.output, ws)
    }

    /// The backward pass of `forward(normalized:_:)`: dL/d(x.x) into `target`, the unit before's BatchNorm
    /// backward run by the depthwise unit channel by channel (`ConvUnit.backward(_:_:_:into:)`).
    func backward(normalized x: NormalizedTensor, _ dy: Tensor, _ ws: Workspace, into target: Tensor) {
        let dp = project.backward(after: depthwise, dy, ws, into: ws.innerGradient)
        depthwise.backward(x, dp, ws, into: target)
    }

    /// The projection's backward reads the depthwise output through the depthwise unit's BatchNorm, or recomputed
    /// (`ConvUnit.backward(after:_:_:into:keepingDy:)`). That output is dead once the projection's backward has read
    /// it (the depthwise unit's mask comes from its convolution's output), so its tensor then takes the expanded gradient. The depthwise
    /// unit reads the projection's input gradient as its BatchNorm's (`ConvUnit.backward`), and runs expand's
    /// BatchNorm backward channel by channel as it writes the expanded gradient.
    func backward(_ x: Tensor, _ dy: Tensor, _ ws: Workspace, into target: Tensor?) {
        let dp = project.backward(after: depthwise, dy, ws, into: ws.innerGradient, keepingDy: join != nil ? ws.branchGradient : nil)
        if let expand {
            let dz = depthwise.backward(expand.normalizedOutput, dp, ws, into: ws.blockActivations[1])
            expand.backward(x, convolutionGradient: dz, ws, needInputGrad: target != nil, into: target)
        } else {
            depthwise.backward(x, dp, ws, needInputGrad: target != nil, into: target)
        }
        if join != nil, let target { addInPlace(target, dy) }
    }

    var parameters: [Parameter] { units.flatMap(\.parameters) }
    var state: [Parameter] { units.flatMap(\.state) }
    func setTraining(_ on: Bool) { units.forEach { $0.setTraining(on) } }
}
