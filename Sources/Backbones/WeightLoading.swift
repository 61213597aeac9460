import Numerics

public enum WeightError: Error, CustomStringConvertible {
    case missing(tensor: String, file: String)
    case shape(tensor: String, expected: [Int], found: [Int], file: String)
    case nonFinite(tensor: String, file: String)

    public var description: String {
        switch self {
        case .missing(let t, let f): "\(f): tensor '\(t)' is missing (is this the right backbone's weight file?)"
        case .shape(let t, let e, let found, let f): "\(f): tensor '\(t)' has shape \(found), expected \(e)"
        case .nonFinite(let t, let f): "\(f): tensor '\(t)' holds NaN or infinite values, so every score would be meaningless (a diverged training or a damaged file); retrain the model"
        }
    }
}

extension FeatureExtractor {
    /// Loads torch-named tensors. A frozen unit takes `<conv>.weight` and `<conv>.bias` when the file
    /// has them (BN already folded, as in open_nsfw), otherwise folds `<bn>.weight/bias/running_mean/
    /// running_var` into its conv. A trainable unit loads its conv weight and BatchNorm state.
    public func load(from file: SafetensorsFile) throws {
        func read(_ name: String, _ shape: [Int]) throws -> [Float] {
            guard let found = file.shape(name) else { throw WeightError.missing(tensor: name, file: file.path) }
            guard found.reduce(1, *) == shape.reduce(1, *), found.filter({ $0 != 1 }) == shape.filter({ $0 != 1 }) else {
                throw WeightError.shape(tensor: name, expected: shape, found: found, file: file.path)
            }
            let values = try file.floats(name)
            guard values.allSatisfy(\.isFinite) else { throw WeightError.nonFinite(tensor: name, file: file.path) }
            return values
        }
        for unit in units {
            let conv = unit.conv
            conv.weight.values = try read(conv.weight.name, conv.weight.shape)
            if let bn = unit.bn {
                for p in bn.state { p.values = try read(p.name, p.shape) }
            } else if let bias = conv.bias {
                if file.shape(bias.name) != nil {
                    bias.values = try read(bias.name, bias.shape)
                } else {
                    let c = [conv.outChannels]
                    unit.foldBatchNorm(weight: try read(unit.bnName + ".weight", c), bias: try read(unit.bnName + ".bias", c),
                                       mean: try read(unit.bnName + ".running_mean", c),
                                       variance: try read(unit.bnName + ".running_var", c))
                }
            }
        }
    }

    /// Every tensor of the network's state with torch names and shapes, ready for a safetensors file.
    public func stateTensors() -> [NamedTensor] {
        state.map { NamedTensor(name: $0.name, shape: $0.shape, values: $0.values) }
    }
}
