import Numerics

/// The end of a ResNet block, shared by BasicBlock and Bottleneck: the main branch's last (unactivated)
/// unit joined with the shortcut, which is the block's input or a projection unit applied to it.
extension ResidualAdd {
    /// `last` applied to `x`, joined with the shortcut of `input`, into `output`. `lent` are two workspace
    /// tensors the block has finished with; `convolving`, when given, takes `last`'s convolution output in
    /// training, which the block then recomputes for its backward pass (`ConvUnit.recomputeConvolution`).
    /// Returns whether the join ran as at inference: then there is no BatchNorm pass between `last` and the
    /// join, whose add and activation go into `last`'s convolution as it writes `output`, and nothing is kept
    /// for a backward pass. In training the join normalises the outputs of `last` and of the projection
    /// itself, so those two never take a tensor of their own, and the projection's convolution output lies in
    /// `output`, which the join then writes over in place: `backwardShortcut` recomputes it there, once the
    /// join's mask no longer needs the output.
    func join(_ last: ConvUnit, on x: Tensor, shortcut: ConvUnit?, of input: Tensor, _ ws: Workspace,
              lent: (Tensor, Tensor), convolving: Tensor? = nil) -> Bool {
        if last.infers {
            let side = shortcut.map { $0.forward(input, ws, into: lent.0) } ?? input
            last.forward(x, ws, adding: side, activation: activation, into: output)
            return true
        }
        let main = last.forwardIntoJoin(x, ws, into: lent.0, convolving: convolving)
        let side = shortcut.map { $0.forwardIntoJoin(input, ws, into: lent.1, convolving: output) } ?? ResidualAdd.Side(input)
        forward(main, side)
        return false
    }

    /// The shortcut's dL/dx (of `dy`, already masked by `backward`) added onto `target`, which holds the
    /// main branch's.
    func backwardShortcut(_ shortcut: ConvUnit?, of input: Tensor, _ dy: Tensor, _ ws: Workspace, into target: Tensor?) {
        if let shortcut {
            shortcut.recomputeConvolution(from: input, ws)
            shortcut.backward(input, dy, ws, needInputGrad: target != nil, into: target, adding: target != nil)
        } else if let target {
            addInPlace(target, dy)
        }
    }
}
