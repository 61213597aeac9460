import Foundation

/// DeLong's test of two correlated ROC curves: two models scoring the same labelled images.
/// `difference` is aucB - aucA; `pValue` is two-sided (null hypothesis: equal AUCs).
public struct DeLongTest: Equatable, Sendable {
    public var aucA: Double
    public var aucB: Double
    /// Variance of aucB - aucA from the DeLong covariance: var(A) + var(B) - 2 cov(A, B).
    public var variance: Double
    public var z: Double
    public var pValue: Double

    public var difference: Double { aucB - aucA }

    /// DeLong, DeLong & Clarke-Pearson (1988) in the O(n log n) form of Sun & Xu (2014): the structural
    /// components come from midranks, so tied scores count one half as in the AUC itself.
    /// Both classes need at least two images (a sample covariance divides by count - 1); otherwise
    /// the AUCs are NaN when a class is empty and the variance, z and p are NaN.
    public init(scoresA: [Float], scoresB: [Float], labels: [Bool]) {
        precondition(scoresA.count == labels.count && scoresB.count == labels.count,
                     "DeLongTest: \(scoresA.count) and \(scoresB.count) scores but \(labels.count) labels")
        let positives = labels.indices.filter { labels[$0] }, negatives = labels.indices.filter { !labels[$0] }
        let m = Double(positives.count), n = Double(negatives.count)
        guard positives.count >= 1, negatives.count >= 1 else {
            self.init(aucA: .nan, aucB: .nan, variance: .nan)
            return
        }
        // Per model: v10[i] is the fraction of negatives that positive i beats, v01[j] the fraction of
        // positives that beat negative j (ties one half); the AUC is the mean of either.
        func components(_ scores: [Float]) -> (auc: Double, v10: [Double], v01: [Double]) {
            let all = midranks(scores.map(Double.init))
            let ofPositives = midranks(positives.map { Double(scores[$0]) })
            let ofNegatives = midranks(negatives.map { Double(scores[$0]) })
            let v10 = positives.indices.map { (all[positives[$0]] - ofPositives[$0]) / n }
            let v01 = negatives.indices.map { 1 - (all[negatives[$0]] - ofNegatives[$0]) / m }
            return (v10.reduce(0, +) / m, v10, v01)
        }
        let a = components(scoresA), b = components(scoresB)
        guard positives.count >= 2, negatives.count >= 2 else {
            self.init(aucA: a.auc, aucB: b.auc, variance: .nan)
            return
        }
        // var(B - A) = S10[A,A] + S10[B,B] - 2 S10[A,B] over m, plus the same for S01 over n,
        // which is the sample variance of the per-image differences of the components.
        let d10 = zip(b.v10, a.v10).map { $0 - $1 }, d01 = zip(b.v01, a.v01).map { $0 - $1 }
        self.init(aucA: a.auc, aucB: b.auc, variance: sampleVariance(d10) / m + sampleVariance(d01) / n)
    }

    init(aucA: Double, aucB: Double, variance: Double) {
        self.aucA = aucA
        self.aucB = aucB
        self.variance = variance
        let difference = aucB - aucA
        if variance > 0 {
            z = difference / variance.squareRoot()
            // Two-sided: P(|Z| >= |z|) = erfc(|z| / sqrt 2), accurate far into the tail (no 1 - cdf cancellation).
            pValue = erfc(abs(z) / 2.0.squareRoot())
        } else if variance == 0, difference == 0 {
            // Both models order every positive/negative pair alike: no evidence of a difference.
            (z, pValue) = (0, 1)
        } else {
            (z, pValue) = (.nan, .nan)
        }
    }
}

/// Ranks starting at 1, tied values sharing the mean of their ranks.
func midranks(_ values: [Double]) -> [Double] {
    let order = values.indices.sorted { values[$0] < values[$1] }
    var ranks = [Double](repeating: 0, count: values.count)
    var start = 0
    while start < order.count {
        var end = start
        while end < order.count, values[order[end]] == values[order[start]] { end += 1 }
        let rank = Double(start + end + 1) / 2 // mean of the 1-based ranks start+1 ... end
        for k in start..<end { ranks[order[k]] = rank }
        start = end
    }
    return ranks
}

private func sampleVariance(_ x: [Double]) -> Double {
    let mean = x.reduce(0, +) / Double(x.count)
    return x.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(x.count - 1)
}
