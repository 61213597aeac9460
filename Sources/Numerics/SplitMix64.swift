import Foundation

/// A small, fast, reproducible generator whose whole state is one integer, so checkpoints can store
/// it and a resumed run draws exactly what an uninterrupted one would.
public struct SplitMix64: RandomNumberGenerator, Codable, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 24 random bits.
    public mutating func nextUnit() -> Float { Float(next() >> 40) / Float(1 << 24) }

    /// Uniform in [low, high) from 24 random bits.
    public mutating func uniform(_ low: Float, _ high: Float) -> Float { low + (high - low) * nextUnit() }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }

    /// Standard normal (Box-Muller).
    public mutating func normal() -> Float {
        let u = max(unit(), 1e-300), v = unit()
        return Float((-2 * log(u)).squareRoot() * cos(2 * Double.pi * v))
    }
}
