/// Area under the ROC curve of image scores against image labels (true = defective).
/// Ties count one half (Mann-Whitney U), which is what sklearn's `roc_auc_score` computes.
/// Returns NaN when one of the two classes is empty, since the ROC is undefined then.
public func imageAUROC(scores: [Float], labels: [Bool]) -> Double {
    auroc(scores: scores, labels: labels, caller: "imageAUROC")
}

/// Pixel-level AUROC over every pixel of every map (good images included), each map flat row-major.
/// A mask pixel is defective when true.
public func pixelAUROC(maps: [[Float]], masks: [[Bool]]) -> Double {
    checkShapes(maps: maps, maskSizes: masks.map(\.count), caller: "pixelAUROC")
    return auroc(scores: maps.flatMap { $0 }, labels: masks.flatMap { $0 }, caller: "pixelAUROC")
}

/// Same as the `[Bool]` variant with 8-bit masks (any nonzero value is defective), as decoded from PNG.
public func pixelAUROC(maps: [[Float]], masks: [[UInt8]]) -> Double {
    pixelAUROC(maps: maps, masks: masks.map { $0.map { $0 != 0 } })
}

/// Pixel-level AUROC on flat arrays (all images concatenated).
public func pixelAUROC(scores: [Float], labels: [Bool]) -> Double {
    auroc(scores: scores, labels: labels, caller: "pixelAUROC")
}

func checkShapes(maps: [[Float]], maskSizes: [Int], caller: String) {
    precondition(maps.count == maskSizes.count, "\(caller): \(maps.count) maps but \(maskSizes.count) masks")
    for (i, (map, maskCount)) in zip(maps, maskSizes).enumerated() {
        precondition(map.count == maskCount, "\(caller): map \(i) has \(map.count) pixels, its mask \(maskCount)")
    }
}

/// One sort of (score, label) keys, then a single pass over runs of tied scores:
/// each positive beats every negative below its run and half of the negatives inside it.
private func auroc(scores: [Float], labels: [Bool], caller: String) -> Double {
    precondition(scores.count == labels.count, "\(caller): \(scores.count) scores but \(labels.count) labels")
    let count = scores.count
    // The label rides in the low bit so that sorting plain integers also groups tied scores together.
    var keys = [UInt64](repeating: 0, count: count)
    for i in 0..<count {
        keys[i] = UInt64(ascendingBits(scores[i])) << 1 | (labels[i] ? 1 : 0)
    }
    radixSort(&keys)

    var negativesBelow = 0
    var positives = 0
    var wins = 0.0
    var start = 0
    while start < count {
        let run = keys[start] >> 1
        var end = start
        var runPositives = 0
        while end < count, keys[end] >> 1 == run {
            runPositives += Int(keys[end] & 1)
            end += 1
        }
        let runNegatives = end - start - runPositives
        wins += Double(runPositives) * (Double(negativesBelow) + 0.5 * Double(runNegatives))
        negativesBelow += runNegatives
        positives += runPositives
        start = end
    }
    let negatives = count - positives
    guard positives > 0, negatives > 0 else { return .nan }
    return wins / (Double(positives) * Double(negatives))
}

/// Maps a float to an unsigned integer with the same order, so sorting integers sorts the scores.
/// -0 and +0 map to the same key because they are the same score; NaN has no place in an order.
func ascendingBits(_ x: Float) -> UInt32 {
    precondition(!x.isNaN, "anomaly score is NaN")
    let bits = (x == 0 ? Float(0) : x).bitPattern
    return bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
}
