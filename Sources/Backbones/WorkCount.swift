import Numerics

extension FeatureExtractor {
    /// Multiply-accumulates per image of the convolutions of the last forward pass, counted from the
    /// layer shapes (weights per output position times output positions); depthwise apart because it
    /// runs far from GEMM speed.
    public func forwardMACs() -> (dense: Int, depthwise: Int) {
        var dense = 0, depthwise = 0
        for conv in units.map(\.conv) {
            let macs = conv.weight.count * conv.outputPlane
            if conv.isDepthwise { depthwise += macs } else { dense += macs }
        }
        return (dense, depthwise)
    }

    /// Multiply-accumulates per image of a backward pass: the weight gradient of every convolution
    /// and the input gradient of all but the first (the image needs none).
    public func backwardMACs() -> Int {
        let perUnit = units.map { $0.conv.weight.count * $0.conv.outputPlane }
        return perUnit.reduce(0, +) * 2 - (perUnit.first ?? 0)
    }
}
