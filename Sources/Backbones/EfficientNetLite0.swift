import Numerics

/// EfficientNet-Lite0 (efficientnet_pytorch key names) up to block 10. TF-"SAME" padding everywhere,
/// ReLU6, no squeeze-excitation. Taps: ends of blocks 2, 4, 10 (24/40/112 channels at strides 4/8/16).
enum EfficientNetLite0 {
    /// (expand ratio, kernel, first stride, output channels, repeats) of the stages used.
    static let stages = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3)]

    static func make(role: Role) -> FeatureExtractor {
        let eps = role.bnEps(teacher: 1e-3)
        var layers: [Layer] = [
            ConvUnit(name: "_conv_stem", bnName: "_bn0", trainable: role.trainable, inChannels: 3, outChannels: 32, kernel: 3,
                     stride: 2, padding: .tfSame, activation: .relu6, bnEps: eps),
        ]
        var channels = 32, index = 0
        var taps: [Int] = []
        for (expand, kernel, stride, out, repeats) in stages {
            for r in 0..<repeats {
                layers.append(MBConvBlock(index: index, inChannels: channels, outChannels: out, expandRatio: expand,
                                          kernel: kernel, stride: r == 0 ? stride : 1, role: role))
                channels = out
                if [2, 4, 10].contains(index) { taps.append(layers.count - 1) }
                index += 1
            }
        }
        return FeatureExtractor(kind: .efficientnetLite0, role: role, layers: layers, tapLayers: taps)
    }
}
