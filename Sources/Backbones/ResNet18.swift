import Numerics

/// torchvision's ResNet-18 up to layer3, with torchvision's tensor names. Taps: layer1, layer2,
/// layer3 (64/128/256 channels at strides 4/8/16).
enum ResNet18 {
    static func make(role: Role) -> FeatureExtractor {
        var layers: [Layer] = [
            Stem(unit: ConvUnit(name: "conv1", bnName: "bn1", trainable: role.trainable, inChannels: 3, outChannels: 64, kernel: 7,
                                stride: 2, padding: .fixed(.symmetric(3)), activation: .relu),
                 pool: MaxPool2d(kernel: 3, stride: 2, padding: .symmetric(1))),
        ]
        var taps: [Int] = []
        var channels = 64
        for (i, width) in [64, 128, 256].enumerated() {
            for b in 0..<2 {
                let stride = (b == 0 && i > 0) ? 2 : 1
                layers.append(BasicBlock(prefix: "layer\(i + 1).\(b)", inChannels: channels, outChannels: width,
                                         stride: stride, role: role))
                channels = width
            }
            taps.append(layers.count - 1)
        }
        return FeatureExtractor(kind: .resnet18, role: role, layers: layers, tapLayers: taps)
    }
}
