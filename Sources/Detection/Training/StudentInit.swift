import Foundation
import Numerics
import Backbones

/// PyTorch's default initialisation for a fresh student: conv weights kaiming_uniform(a = sqrt(5)),
/// i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)); BatchNorm weight 1, bias 0, running mean 0, var 1.
/// Deterministic for a seed so that runs can be repeated and resumed.
public enum StudentInit {
    public static func initialize(_ student: FeatureExtractor, seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        for p in student.state {
            if p.name.hasSuffix("running_var") || (p.shape.count == 1 && p.name.hasSuffix(".weight")) {
                p.values = .init(repeating: 1, count: p.count)
            } else if p.shape.count == 4 {
                let fanIn = p.shape[1] * p.shape[2] * p.shape[3]
                let bound = 1 / Float(fanIn).squareRoot()
                p.values = (0..<p.count).map { _ in (rng.nextUnit() * 2 - 1) * bound }
            } else {
                p.values = .init(repeating: 0, count: p.count)
            }
        }
    }
}
