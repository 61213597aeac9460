import Numerics

/// Yahoo open_nsfw's ResNet-50-1by2 up to stage 2: half-width Caffe-style bottlenecks, max-pool with
/// TF-SAME padding (one extra row/column at the bottom/right). Taps: ends of stages 0, 1, 2
/// (128/256/512 channels at strides 4/8/16).
enum ResNet50Half {
    static func make(role: Role) -> FeatureExtractor {
        var layers: [Layer] = [
            Stem(unit: ConvUnit(name: "conv_1", bnName: "conv_1.bn", trainable: role.trainable, inChannels: 3, outChannels: 64,
                                kernel: 7, stride: 2, padding: .fixed(.symmetric(3)), activation: .relu),
                 pool: MaxPool2d(kernel: 3, stride: 2, padding: Padding(top: 0, bottom: 1, left: 0, right: 1))),
        ]
        var taps: [Int] = []
        var channels = 64
        for (s, (width, blocks)) in [(32, 3), (64, 4), (128, 6)].enumerated() {
            for b in 0..<blocks {
                layers.append(Bottleneck(prefix: "stage\(s).block\(b)", inChannels: channels, width: width,
                                         outChannels: width * 4, stride: (b == 0 && s > 0) ? 2 : 1, project: b == 0,
                                         role: role))
                channels = width * 4
            }
            taps.append(layers.count - 1)
        }
        return FeatureExtractor(kind: .resnet50Half, role: role, layers: layers, tapLayers: taps)
    }
}
