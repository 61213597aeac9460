import Numerics

/// Layers made of convolution units, so that weights can be loaded and saved by walking them.
protocol UnitContainer {
    var units: [ConvUnit] { get }
}

extension ConvUnit: UnitContainer {
    var units: [ConvUnit] { [self] }
}

extension Stem: UnitContainer {}
extension BasicBlock: UnitContainer {}
extension Bottleneck: UnitContainer {}
extension MBConvBlock: UnitContainer {}

extension FeatureExtractor {
    var units: [ConvUnit] { layers.flatMap { ($0 as? UnitContainer)?.units ?? [] } }
}
