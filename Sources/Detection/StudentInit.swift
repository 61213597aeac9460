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

/// A small, fast, reproducible generator whose whole state is one integer (so checkpoints can store it).
public struct SplitMix64: RandomNumberGenerator, Codable, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    public mutating func nextUnit() -> Float { Float(next() >> 40) / Float(1 << 24) }
}
