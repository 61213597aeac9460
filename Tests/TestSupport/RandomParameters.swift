import Numerics

/// Weights for checks on untrained networks: convolutions He-scaled, BatchNorm scales drawn from `scales`,
/// every other vector (BatchNorm shifts) from `shifts`.
public func randomize(_ parameters: [Parameter], scales: ClosedRange<Float>, shifts: ClosedRange<Float>,
                      _ rng: inout SplitMix64) {
    for p in parameters {
        if p.shape.count == 4 {
            let std = (2 / Float(p.shape[1] * p.shape[2] * p.shape[3])).squareRoot()
            for i in 0..<p.count { p.value[i] = std * rng.normal() }
        } else {
            let range = p.name.hasSuffix(".weight") ? scales : shifts
            for i in 0..<p.count { p.value[i] = rng.uniform(range.lowerBound, range.upperBound) }
        }
    }
}
