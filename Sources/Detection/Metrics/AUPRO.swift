/// The per-region overlap curve of MVTec AD's `compute_pro`: one point per distinct score, from the highest
/// threshold down, with (0, 0) prepended and (1, 1) appended.
public struct PROCurve: Equatable {
    /// False positive rate over the OK pixels of all images.
    public var fpr: [Double]
    /// Mean over all defect regions of the fraction of the region at or above the threshold.
    public var pro: [Double]
    public var regionCount: Int
    public var okPixelCount: Int
}

/// Builds the PRO curve exactly as MVTec AD's evaluation (`pro_curve_util.compute_pro`) does.
/// `maps` and `masks` hold one flat row-major width x height image each; good images belong in both
/// (their OK pixels count as possible false positives) with an all-false mask.
public func proCurve(maps: [[Float]], masks: [[Bool]], width: Int, height: Int) -> PROCurve {
    checkShapes(maps: maps, maskSizes: masks.map(\.count), caller: "proCurve")
    let pixelsPerImage = width * height
    let total = maps.count * pixelsPerImage
    precondition(maps.allSatisfy { $0.count == pixelsPerImage }, "proCurve: every map must have \(width)x\(height) pixels")
    precondition(total <= Int(UInt32.max), "proCurve: \(total) pixels do not fit the 32-bit index of the sort key")

    // Per pixel: 0 for an OK pixel (a false positive once flagged), else 1/|region| of its region.
    var proWeight = [Double](repeating: 0, count: total)
    var isOK = [Bool](repeating: true, count: total)
    var regionCount = 0
    for (image, mask) in masks.enumerated() {
        let components = connectedComponents8(mask: mask, width: width, height: height)
        regionCount += components.count
        let offset = image * pixelsPerImage
        for (p, label) in components.labels.enumerated() where label != 0 {
            isOK[offset + p] = false
            proWeight[offset + p] = 1 / Double(components.sizes[Int(label) - 1])
        }
    }
    let okPixelCount = isOK.reduce(0) { $0 + ($1 ? 1 : 0) }

    // Score in the high half, pixel index in the low half: one integer sort orders all pixels by score.
    var keys = [UInt64](repeating: 0, count: total)
    var index = 0
    for map in maps {
        for score in map {
            keys[index] = UInt64(ascendingBits(score)) << 32 | UInt64(index)
            index += 1
        }
    }
    radixSort(&keys, orderedLowBytes: 4)

    var fpr: [Double] = [0]
    var pro: [Double] = [0]
    var falsePositives = 0
    var proSum = 0.0
    // Descending scores; a point is taken only after the last pixel of each run of tied scores.
    for position in stride(from: total - 1, through: 0, by: -1) {
        let pixel = Int(keys[position] & 0xFFFF_FFFF)
        if isOK[pixel] { falsePositives += 1 } else { proSum += proWeight[pixel] }
        if position == 0 || keys[position - 1] >> 32 != keys[position] >> 32 {
            // The official code divides in float32; keeping its rounding keeps the curve point-for-point identical.
            fpr.append(min(Double(Float(falsePositives) / Float(okPixelCount)), 1))
            pro.append(min(proSum / Double(regionCount), 1))
        }
    }
    fpr.append(1)
    pro.append(1)
    return PROCurve(fpr: fpr, pro: pro, regionCount: regionCount, okPixelCount: okPixelCount)
}

/// Area under the PRO curve up to `fprLimit`, divided by `fprLimit` (MVTec AD's AU-PRO; 0.3 is the standard).
/// NaN when there is no defect region or no OK pixel, where the curve is undefined.
public func auPRO(curve: PROCurve, fprLimit: Double = 0.3) -> Double {
    precondition(fprLimit > 0 && fprLimit <= 1, "fprLimit must lie in (0, 1], got \(fprLimit)")
    guard curve.regionCount > 0, curve.okPixelCount > 0 else { return .nan }
    return trapezoid(x: curve.fpr, y: curve.pro, xMax: fprLimit) / fprLimit
}

public func auPRO(maps: [[Float]], masks: [[Bool]], width: Int, height: Int, fprLimit: Double = 0.3) -> Double {
    auPRO(curve: proCurve(maps: maps, masks: masks, width: width, height: height), fprLimit: fprLimit)
}

/// 8-bit masks as decoded from PNG: any nonzero value is a defect pixel.
public func auPRO(maps: [[Float]], masks: [[UInt8]], width: Int, height: Int, fprLimit: Double = 0.3) -> Double {
    auPRO(maps: maps, masks: masks.map { $0.map { $0 != 0 } }, width: width, height: height, fprLimit: fprLimit)
}

/// MVTec AD's `generic_util.trapezoid`: drops non-finite points; with `xMax`, integrates up to exactly `xMax`,
/// interpolating y linearly there when `xMax` is not a sample. `x` must be ascending.
public func trapezoid(x: [Double], y: [Double], xMax: Double? = nil) -> Double {
    precondition(x.count == y.count, "trapezoid: \(x.count) x values but \(y.count) y values")
    let finite = zip(x, y).filter { $0.0.isFinite && $0.1.isFinite }
    var points = finite
    var correction = 0.0
    if let xMax {
        if !finite.contains(where: { $0.0 == xMax }) {
            // bisect_right: the first sample beyond xMax.
            let after = finite.firstIndex { $0.0 > xMax } ?? finite.count
            precondition(after > 0 && after < finite.count, "trapezoid: xMax \(xMax) lies outside the samples")
            let (x0, y0) = finite[after - 1], (x1, y1) = finite[after]
            let yAtMax = y0 + (y1 - y0) * (xMax - x0) / (x1 - x0)
            correction = 0.5 * (yAtMax + y0) * (xMax - x0)
        }
        points = finite.filter { $0.0 <= xMax }
    }
    var area = 0.0
    for i in points.indices.dropFirst() {
        area += 0.5 * (points[i].1 + points[i - 1].1) * (points[i].0 - points[i - 1].0)
    }
    return area + correction
}
