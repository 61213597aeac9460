import Numerics

/// STPM's anomaly map: per level 0.5 * sum_c (t̂ - ŝ)^2 at each position, bilinearly upsampled
/// (align_corners = false) to the input size, multiplied across levels. The image score is its max.
///
/// Fused into few passes: per level, one pass for the student's norms and one for the differences
/// (the normalised student is never stored), then one pass over the output for the upsampling, the
/// product of the levels and the maximum. The arithmetic is that of `ChannelNormalize`, then
/// `BilinearUpsample.forward` and the product in level order, bit for bit.
public final class AnomalyMapper {
    public let height: Int
    public let width: Int
    private var levelMaps: [[Float]] = [[], [], []]
    private var invNorms: [Float] = []
    private var peaks: [Float] = []
    private var upsamplers: [BilinearUpsample?] = [nil, nil, nil]
    private let eps: Float = ChannelNormalize().eps
    /// The raw teacher taps' per-position norms (`compute(rawTeacher:)`).
    private let teacherNorms = [ChannelNormalize(), ChannelNormalize(), ChannelNormalize()]

    public init(height: Int, width: Int) { self.height = height; self.width = width }

    /// The maps, one plane of height x width per image, in a new array the caller keeps (scoring hands it on
    /// as the image's map, with no copy).
    /// - Parameter teacher: channel-normalised teacher taps, or (`rawTeacher`) the teacher's taps as they
    ///   come, normalised here as they are read, to the same floats (`TapNormalizer`'s): scoring then
    ///   normalises on both threads after the networks instead of on the teacher's while the student's
    ///   waits. `student`: raw student taps. `keepLevels` also returns each level's map and its upsampled
    ///   planes (for the parity tests).
    public func compute(teacher: [Tensor], student: [Tensor], keepLevels: Bool = false,
                        rawTeacher: Bool = false) -> (maps: [Float], levels: [[Float]]) {
        let n = student[0].n, plane = height * width
        var kept: [[Float]] = []
        for l in 0..<3 {
            let s = student[l]
            if rawTeacher { teacherNorms[l].norms(teacher[l]) }
            levelMap(l, teacher: teacher[l], teacherNorms: rawTeacher ? UnsafePointer(teacherNorms[l].inverseNorms.data) : nil,
                     student: s)
            if upsamplers[l]?.inH != s.h || upsamplers[l]?.inW != s.w || upsamplers[l]?.outH != height {
                upsamplers[l] = BilinearUpsample(inH: s.h, inW: s.w, outH: height, outW: width)
            }
            if keepLevels {
                var up = [Float](repeating: 0, count: n * plane)
                levelMaps[l].withUnsafeBufferPointer { src in
                    up.withUnsafeMutableBufferPointer { upsamplers[l]!.forward(src.baseAddress!, $0.baseAddress!, planes: n) }
                }
                kept += [levelMaps[l], up]
            }
        }
        // `product` writes every element.
        let maps = [Float](unsafeUninitializedCapacity: n * plane) { dst, initialized in
            levelMaps[0].withUnsafeBufferPointer { m0 in
                levelMaps[1].withUnsafeBufferPointer { m1 in
                    levelMaps[2].withUnsafeBufferPointer { m2 in
                        let levels = zip(upsamplers.map { $0! }, [m0, m1, m2].map { UnsafePointer($0.baseAddress!) })
                        peaks = BilinearUpsample.product(of: levels.map { ($0, $1) }, into: dst.baseAddress!, planes: n)
                    }
                }
            }
            initialized = n * plane
        }
        return (maps, kept)
    }

    /// levelMaps[l] = 0.5 * sum_c (t - s / max(|s|, eps))^2 per position, t normalised as it is read where
    /// `teacherNorms` (its `inverseNorms`) is given. Positions are independent: split across the threads.
    private func levelMap(_ l: Int, teacher t: Tensor, teacherNorms tinv: UnsafePointer<Float>?, student s: Tensor) {
        let positions = s.rowLength, channels = s.c, eps = eps
        if levelMaps[l].count != positions { levelMaps[l] = .init(repeating: 0, count: positions) }
        if invNorms.count < positions { invNorms = .init(repeating: 0, count: positions) }
        let tData = UnsafePointer(t.data), sData = UnsafePointer(s.data)
        invNorms.withUnsafeMutableBufferPointer { inv in
            levelMaps[l].withUnsafeMutableBufferPointer { lm in
                let inv = inv.baseAddress!, lm = lm.baseAddress!
                parallelFor(positions, work: positions * channels) { r in
                    (inv + r.lowerBound).update(repeating: 0, count: r.count)
                    (lm + r.lowerBound).update(repeating: 0, count: r.count)
                    for c in 0..<channels {
                        let sp = sData + c * positions
                        for i in r { inv[i] += sp[i] * sp[i] }
                    }
                    for i in r { inv[i] = 1 / max(inv[i].squareRoot(), eps) }
                    for c in 0..<channels {
                        let tp = tData + c * positions, sp = sData + c * positions
                        if let tinv {
                            for i in r { let d = ChannelNormalize.normalized(tp[i], tinv[i]) - sp[i] * inv[i]; lm[i] += d * d }
                        } else {
                            for i in r { let d = tp[i] - sp[i] * inv[i]; lm[i] += d * d }
                        }
                    }
                    for i in r { lm[i] *= 0.5 }
                }
            }
        }
    }

    /// Max of each image's map (NaN if the map holds one).
    public func scores() -> [Float] { peaks }
}
