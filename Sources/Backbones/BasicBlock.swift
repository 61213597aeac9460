import Numerics

/// torchvision's ResNet BasicBlock: relu(bn2(conv2(relu(bn1(conv1 x)))) + shortcut(x)).
final class BasicBlock: Layer {
    let conv1: ConvUnit
    let conv2: ConvUnit
    let downsample: ConvUnit?
    let join = ResidualAdd(activation: .relu)
    let inputGrad = Tensor(c: 0, n: 0, h: 0, w: 0)

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

    func forward(_ x: Tensor, _ ws: Workspace) -> Tensor {
        conv1.forward(x, ws)
        conv2.forward(conv1.output, ws)
        let shortcut = downsample.map { $0.forward(x, ws) } ?? x
        return join.forward(conv2.output, shortcut)
    }

    func backward(_ x: Tensor, _ dy: Tensor, _ ws: Workspace, needInputGrad: Bool) -> Tensor {
        join.backward(dy)
        let d1 = conv2.backward(conv1.output, dy, ws, needInputGrad: true, into: ws.innerGradient)
        let dMain = conv1.backward(x, d1, ws, needInputGrad: true)
        sumGradients(inputGrad, dMain, downsample.map { $0.backward(x, dy, ws, needInputGrad: true) } ?? dy)
        return inputGrad
    }

    var parameters: [Parameter] { units.flatMap(\.parameters) }
    var state: [Parameter] { units.flatMap(\.state) }
    func setTraining(_ on: Bool) { units.forEach { $0.setTraining(on) } }
}
