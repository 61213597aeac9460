import Numerics

/// STPM's training loss: per pyramid level, sum over channels of (t̂ - ŝ)^2 averaged over the batch's
/// positions (no 0.5, as the official code), t̂ and ŝ the channel-normalised teacher and student
/// features; levels summed with weight 1.
public final class PyramidLoss {
    /// Norms of the student taps only: the normalised values are formed as they are read.
    let studentNorms = [ChannelNormalize(), ChannelNormalize(), ChannelNormalize()]
    /// <dL/dŝ, ŝ> per position, for `gradient`.
    private let dots = Tensor(c: 0, n: 0, h: 0, w: 0)
    /// Each 4096-value chunk's Float sum, for `forward`.
    private let chunkSums = Tensor(c: 0, n: 0, h: 0, w: 0)

    public init() {}

    /// The three level losses; keeps each level's norms for `gradient`.
    /// - Parameter teacher: the teacher taps already channel-normalised (they are cached that way).
    public func forward<T: TeacherFeatures>(teacher: T, student: [Tensor]) -> [Double] {
        (0..<3).map { l in
            let s = student[l], norm = studentNorms[l]
            precondition(teacher.shape(level: l) == (s.c, s.n, s.h, s.w), "teacher and student taps differ in shape at level \(l + 1)")
            norm.norms(s)
            // Sums of 4096 consecutive values (in channel-major order) in Float, then in Double in their
            // order: the chunks are independent, so the cores sum them side by side with the same result.
            let chunks = (s.count + 4095) / 4096
            chunkSums.resize(c: 1, n: 1, h: 1, w: chunks)
            let count = s.count, images = s.n, plane = s.plane, inv = norm.inverseNorms.data, x = s.data, sums = chunkSums.data
            parallelFor(chunks, work: count) { range in
                for k in range {
                    var i = k * 4096, acc: Float = 0
                    let end = min(count, i + 4096)
                    while i < end {
                        let r = i / plane, rowEnd = min(end, (r + 1) * plane), base = r * plane
                        let t = teacher.row(level: l, channel: r / images, image: r % images), iv = inv + (r % images) * plane
                        for q in (i - base)..<(rowEnd - base) {
                            let d = t[q].float - ChannelNormalize.normalized(x[base + q], iv[q])
                            acc += d * d
                        }
                        i = rowEnd
                    }
                    sums[k] = acc
                }
            }
            var total = 0.0
            for k in 0..<chunks { total += Double(sums[k]) }
            return total / Double(s.rowLength)
        }
    }

    /// dL/d(student tap `l`) of the last `forward`, given the same teacher and tap, into `g` (resized), or
    /// added to `g`: the backward pass asks for each level as it reaches its tap (`FeatureExtractor.backward`),
    /// so that no level's gradient waits in a tensor of its own. With ŝ = s / |s| per position and
    /// dL/dŝ = -2 (t̂ - ŝ) / positions, dL/ds = (dL/dŝ - ŝ <dL/dŝ, ŝ>) / |s|, the projection term dropped
    /// where the norm's floor was hit (it no longer depends on s); dL/dŝ is formed twice rather than kept.
    public func gradient<T: TeacherFeatures>(level l: Int, teacher: T, student s: Tensor, into g: Tensor, adding: Bool) {
        if !adding { g.resize(c: s.c, n: s.n, h: s.h, w: s.w) }
        precondition(g.sameShape(s) && studentNorms[l].inverseNorms.count == s.rowLength, "level \(l + 1): gradient shape mismatch")
        let m = s.rowLength, plane = s.plane, channels = s.c, scale = -2 / Float(m)
        dots.resize(c: 1, n: 1, h: 1, w: m)
        let inv = studentNorms[l].inverseNorms.data, dot = dots.data, xp = s.data, out = g.data
        parallelFor(m, work: s.count) { r in
            // Positions of one image at a time, so that each channel reads one teacher row.
            var start = r.lowerBound
            while start < r.upperBound {
                let n = start / plane, end = min(r.upperBound, (n + 1) * plane), offset = n * plane
                for i in start..<end { dot[i] = 0 }
                for c in 0..<channels {
                    let t = teacher.row(level: l, channel: c, image: n), x = xp + c * m
                    for i in start..<end {
                        let y = ChannelNormalize.normalized(x[i], inv[i])
                        dot[i] += y * (scale * (t[i - offset].float - y))
                    }
                }
                for i in start..<end where inv[i] < 0 { dot[i] = 0 }
                for c in 0..<channels {
                    let t = teacher.row(level: l, channel: c, image: n), x = xp + c * m, o = out + c * m
                    for i in start..<end {
                        let y = ChannelNormalize.normalized(x[i], inv[i])
                        let d = (scale * (t[i - offset].float - y) - y * dot[i]) * abs(inv[i])
                        o[i] = adding ? o[i] + d : d
                    }
                }
                start = end
            }
        }
    }
}
