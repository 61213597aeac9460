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
    precondition(maps.allSatisfy { $0.count == width * height }, "proCurve: every map must have \(width)x\(height) pixels")
    let images = masks.enumerated().map { i, mask in
        PixelMetrics.Image(map: i, regions: DefectRegions(mask: mask, width: width, height: height), groups: [0])
    }
    var fpr: [Double] = [], pro: [Double] = []
    _ = PixelMetrics.compute(images, maps: .arrays(maps), groupCount: 1) { _, x, y in
        fpr.append(x)
        pro.append(y)
    }
    let layout = PixelMetrics.Layout(images, groupCount: 1)
    return PROCurve(fpr: fpr, pro: pro, regionCount: layout.regions[0], okPixelCount: layout.okPixels[0])
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
